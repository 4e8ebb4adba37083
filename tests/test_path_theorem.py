"""The drift-bound form (THEORY.md §8), the path-length theorem (§9) and relu certificates (§10).

Independent references here: the literal conditions R(γ) < ρ*, a dense Jacobian built in
the test (row formula), a plain-loop flip bound (tests/test_flips.py's ``RefG``) and
adversarial searches inside the ball of radius ρ* (§11).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.cli import main
from ntkcheck.theory.certificate import Quantities, Theorem, certify
from ntkcheck.theory.drift import LipschitzDrift

from .test_flips import RefG

pos = st.floats(1e-2, 1e2)


def _q(smin, smax, L0, f0_sq=0.0, f0_y=0.0, y_sq=None, dep=False):
    y_sq = 2 * L0 if y_sq is None else y_sq
    return Quantities(smin, smax, L0, f0_sq, f0_y, y_sq, True, loss_depends_on_gamma=dep)


@dataclass(frozen=True)
class PowerDrift:
    """A non-Lipschitz drift bound h(ρ) = C ρ^p (p < 1), as relu's is for small ρ."""

    C: float
    p: float
    rigorous: bool = True
    kind: str = "power"

    def h(self, rho: float) -> float:
        return self.C * rho**self.p

    def safe_radius(self, target: float) -> float:
        return (target / self.C) ** (1 / self.p)


@dataclass(frozen=True)
class OpaqueLipschitz:
    """h(ρ) = βρ, but not a ``LipschitzDrift``: exercises the general (§8) formulas."""

    beta: float
    rigorous: bool = True
    kind: str = "opaque"

    def h(self, rho: float) -> float:
        return self.beta * rho

    def safe_radius(self, target: float) -> float:
        return target / self.beta


@settings(max_examples=200, deadline=None)
@given(beta=pos, smin=pos, ratio=st.floats(1.0, 1e3), L0=pos)
def test_lecture_over_path_is_two_kappa_plus_one(beta, smin, ratio, L0):
    """γ*/γ*_p = 2κ + 1 exactly when L0 does not depend on γ (THEORY.md §9)."""
    smax = smin * ratio
    q = _q(smin, smax, L0)
    lec = certify(Theorem.lecture, 1.0, q, LipschitzDrift(beta), True)
    path = certify(Theorem.path, 1.0, q, LipschitzDrift(beta), True)
    assert lec.gamma_star / path.gamma_star == pytest.approx(2 * ratio + 1, rel=1e-12)
    assert path.gamma_star == pytest.approx(4 * math.sqrt(2) * beta * math.sqrt(L0) / smin**2)
    # R_p(γ*_p) = ρ* = σ_min/(2β): γ*_p is where the path radius touches the safe radius
    at = certify(Theorem.path, path.gamma_star, q, LipschitzDrift(beta), True)
    assert at.radius_R == pytest.approx(smin / (2 * beta), rel=1e-12) and not at.certified
    above = certify(Theorem.path, path.gamma_star * (1 + 1e-9), q, LipschitzDrift(beta), True)
    assert above.certified and above.radius_R < above.radius_B


@settings(max_examples=100, deadline=None)
@given(beta=pos, smin=pos, ratio=st.floats(1.0, 100.0), L0=pos, theorem=st.sampled_from(Theorem))
def test_general_formulas_equal_the_lipschitz_ones(beta, smin, ratio, L0, theorem):
    """The §8 forms with h(ρ) = βρ reproduce §4 and §9 (γ*, γ set, C5's D)."""
    q = _q(smin, smin * ratio, L0)
    gamma = 3.0 * certify(theorem, 1.0, q, LipschitzDrift(beta), True).gamma_star
    a = certify(theorem, gamma, q, LipschitzDrift(beta), True)
    b = certify(theorem, gamma, q, OpaqueLipschitz(beta), True)
    assert b.gamma_star == pytest.approx(a.gamma_star, rel=1e-12)
    assert b.gamma_interval[0][0] == pytest.approx(a.gamma_interval[0][0], rel=1e-10)
    assert b.guarantees.gap_D == pytest.approx(a.guarantees.gap_D, rel=1e-12)
    assert b.radius_B == pytest.approx(a.radius_B, rel=1e-12)


def _literal(theorem, gamma, q, drift):
    """R(γ) < ρ* evaluated literally with L0(γ) = ½‖γf0 − y‖²."""
    r0 = math.sqrt(max(gamma**2 * q.f0_sq - 2 * gamma * q.f0_dot_y + q.y_sq, 0.0))
    if theorem is Theorem.path:
        R = 2 * r0 / (gamma * q.sigma_min)
    else:
        R = (4 * q.sigma_max + 2 * q.sigma_min) * r0 / (gamma * q.sigma_min**2)
    return drift.safe_radius(q.sigma_min / 2) > R


@settings(max_examples=150, deadline=None)
@given(
    C=st.floats(0.1, 10.0),
    p=st.floats(0.2, 1.0),
    smin=st.floats(0.5, 5.0),
    ratio=st.floats(1.0, 10.0),
    f0_norm=st.floats(0.0, 20.0),
    y_norm=st.floats(0.1, 10.0),
    cos=st.floats(-1.0, 1.0),
    theorem=st.sampled_from(Theorem),
)
def test_gamma_set_pointwise_with_a_general_drift(C, p, smin, ratio, f0_norm, y_norm, cos, theorem):
    """The exact γ set (§8–§9) ⇔ the literal condition R(γ) < ρ*, on a log grid of γ."""
    q = _q(smin, smin * ratio, 0.0, f0_norm**2, cos * f0_norm * y_norm, y_norm**2, dep=True)
    drift = PowerDrift(C, p)
    intervals = certify(theorem, 1.0, q, drift, True).gamma_interval
    ends = [e for iv in intervals for e in iv if 0 < e < math.inf]
    for g in np.logspace(-4, 8, 300):
        if any(abs(g - e) <= 1e-8 * e for e in ends):
            continue
        inside = any(lo < g < hi for lo, hi in intervals)
        assert inside == _literal(theorem, g, q, drift)


def test_path_guarantees_use_h_of_R():
    drift = PowerDrift(2.0, 0.5)
    q = _q(2.0, 5.0, 3.0)
    c = certify(Theorem.path, 1e4, q, drift, True)
    g = c.guarantees
    R = 2 * math.sqrt(6.0) / (1e4 * 2.0)
    h = 2.0 * math.sqrt(R)
    assert g.path_length and g.radius_R == pytest.approx(R, rel=1e-14)
    assert g.jacobian_norm_upper == pytest.approx(5.0 + h, rel=1e-14)
    assert g.gap_D == pytest.approx(4 / 3 * h * (10.0 + h) * math.sqrt(6.0) / 4.0, rel=1e-14)
    assert g.radius_B == pytest.approx(drift.safe_radius(1.0), rel=1e-14)


def test_zero_safe_radius_certifies_nothing():
    c = certify(Theorem.path, 1e12, _q(1.0, 2.0, 1.0), PowerDrift(1e300, 1.0), True)
    assert not c.certified and c.gamma_star > 1e12


# ---------------------------------------------------------------- relu end to end


def _relu_case(tmp_path, *, n=7, d=3, N=24, seed=0, gamma=1e4, activation="relu", a=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    W = rng.standard_normal((N, d))
    a = rng.choice([-1.0, 1.0], size=N) if a is None else a
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "w0.npz", W=W, a=a)
    spec = tmp_path / "case.yaml"
    spec.write_text(
        f"gamma: {gamma}\ndata: {{source: file, path: train.npz}}\n"
        f"model: {{activation: {activation}, scaling: ntk, init: file, init_path: w0.npz}}\n"
    )
    return spec, X, y, W, a


def _dense_relu_jacobian(X, W, a, s, slope=0.0):
    Z = X @ W.T
    S = s * np.where(Z > 0, 1.0, slope) * a  # σ'(0) = 0 for relu (THEORY.md §10)
    return (S[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_json_against_an_independent_implementation(tmp_path, capsys, seed, activation):
    """σ's from a dense J, ρ* from the plain-loop flip bound, γ*'s and sets from §8–§10."""
    spec, X, y, W, a = _relu_case(tmp_path, seed=seed, activation=activation)
    slope = 0.01 if activation == "leaky_relu" else 0.0
    main(["certify", str(spec), "-f", "json"])
    r = json.loads(capsys.readouterr().out)["results"][0]
    N = W.shape[0]
    s = 1 / math.sqrt(N)
    sv = np.linalg.svd(_dense_relu_jacobian(X, W, a, s, slope), compute_uv=False)
    smin, smax = sv[-1], sv[0]
    est = r["estimate"]
    assert est["drift_bound"] == "flip_count"
    assert est["sigma_min_lower"] <= smin <= est["sigma_min_lower"] * (1 + 1e-6)
    assert smax <= est["sigma_max_upper"] <= smax * (1 + 1e-6)
    # ρ*: the largest ρ with s·c·√G(ρ²) ≤ σ_min/2, inverted from the reference G
    c = 1.0 - slope
    ref = RefG(X, W, a)
    target = (est["sigma_min_lower"] / 2) ** 2 / (s * c) ** 2
    lo, hi = 0.0, 1.0
    while ref(hi) <= target:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ref(mid) <= target else (lo, mid)
    rho = math.sqrt(lo)
    path, lec = r["certificates"]["path"], r["certificates"]["lecture"]
    assert path["radius_B"] == pytest.approx(rho, rel=1e-8)
    f0 = s * (np.maximum(X @ W.T, slope * (X @ W.T)) @ a)
    r0 = float(np.linalg.norm(r["certificate"]["gamma"] * f0 - y))
    sl, su = est["sigma_min_lower"], est["sigma_max_upper"]
    assert path["gamma_star"] == pytest.approx(2 * r0 / (sl * rho), rel=1e-8)
    assert lec["gamma_star"] == pytest.approx((4 * su + 2 * sl) * r0 / (sl**2 * rho), rel=1e-8)
    for theorem, (p, cc) in {
        "path": (rho * sl, 2.0),
        "lecture": (rho * sl**2, 4 * su + 2 * sl),
    }.items():
        # the exact set of p·γ > c‖γf0 − y‖, solved here by brute force on a fine log grid
        ivs = r["certificates"][theorem]["gamma_interval"]
        for g in np.logspace(-2, 8, 400):
            inside = any(lo_ < g < (hi_ if hi_ is not None else math.inf) for lo_, hi_ in ivs)
            literal = p * g > cc * np.linalg.norm(g * f0 - y)
            ends = [e for iv in ivs for e in iv if e is not None and e > 0]
            if not any(abs(g - e) <= 1e-7 * e for e in ends):
                assert inside == literal


def test_relu_safe_radius_survives_adversarial_flips(tmp_path, capsys):
    """§11 for relu: flips chosen greedily by margin and random moves of norm ρ* never
    push ‖J_θ − J0‖ above σ_min/2."""
    spec, X, _, W, a = _relu_case(tmp_path, n=6, d=3, N=16, seed=5)
    main(["certify", str(spec), "-f", "json"])
    r = json.loads(capsys.readouterr().out)["results"][0]
    rho = r["certificates"]["path"]["radius_B"]
    half = r["estimate"]["sigma_min_lower"] / 2
    s = 1 / math.sqrt(W.shape[0])
    J0 = _dense_relu_jacobian(X, W, a, s)
    rng = np.random.default_rng(0)
    norms = np.linalg.norm(X, axis=1)
    worst = 0.0
    for trial in range(400):
        D = np.zeros_like(W)
        budget = rho**2
        # flip the cheapest (neuron, point) pairs first, with a random order among near ties
        M = np.abs(X @ W.T).T / norms  # margins (N, n)
        order = np.argsort(M.ravel() * (1 + 0.3 * rng.random(M.size)))
        for k in order:
            i, j = divmod(int(k), X.shape[0])
            step = (M[i, j] * 1.000001) ** 2
            if step > budget:
                continue
            z = X[j] @ W[i]
            D[i] = -np.sign(z) * (M[i, j] * 1.000001) * X[j] / norms[j]
            budget -= step
            if trial % 2 and rng.random() < 0.5:
                break
        Jt = _dense_relu_jacobian(X, W + D, a, s)
        assert np.linalg.norm(D) <= rho * (1 + 1e-9)
        worst = max(worst, np.linalg.norm(Jt - J0, 2) / half)
    assert worst <= 1.0


@pytest.mark.parametrize("theorem", list(Theorem))
@pytest.mark.parametrize("drift", [LipschitzDrift(0.5), PowerDrift(2.0, 0.5)])
def test_a_zero_sigma_min_bound_is_not_full_rank(theorem, drift):
    """The rank test and the rigorous σ_min bound can disagree (the bound subtracts more
    than the rank tolerance): a bound of 0 proves no (H2); not a division by zero."""
    c = certify(theorem, 10.0, _q(0.0, 1.0, 2.0), drift, True)
    assert c.status.value == "not_applicable" and c.reason.value == "not_full_rank"
    assert math.isinf(c.gamma_star)
