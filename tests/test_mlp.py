"""The deep fully connected family (``model.architecture: mlp``, THEORY.md §10) against an
independent dense reference, and its drift bound falsified by search (THEORY.md §11).

The reference here is a forward pass written from THEORY.md §10's formulas, differentiated by
complex step (``∂f/∂θ_k = Im f(θ + i h e_k)/h``, exact to rounding for analytic σ; relu-like
σ are analytic on each side of the kink). Per-sample Hessians add a central difference in
the second index: ``H_ab ≈ Im[f(θ + ih e_a + k e_b) − f(θ + ih e_a − k e_b)]/(2hk)``, error
O(k²·|∂⁴f|) + O(u·|f'|/k) ≈ 1e-10 relative at k = 1e-5.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from ntkcheck import build_problem, certify_spec, parse_spec
from ntkcheck.cli import main
from ntkcheck.models.activations import get_activation
from ntkcheck.models.mlp import MlpNetwork, Params, Structure
from ntkcheck.models.mlp.local_beta import hessian_form, hessian_vector
from ntkcheck.run.job import simulate_spec

COMPLEX_SIGMA = {
    "identity": lambda z: z,
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "softplus": lambda z: np.log(1.0 + np.exp(z)),
    "gelu": lambda z: z * 0.5 * (1.0 + special.erf(z / np.sqrt(2.0))),
    "sin": np.sin,
    "quadratic": lambda z: 0.5 * z * z,
    "relu": lambda z: np.where(z.real > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z.real > 0, z, 0.01 * z),
    "abs": lambda z: np.where(z.real > 0, z, -z),
}


class Reference:
    """f(X; θ) for a batch of θ (…, P), from the formulas of THEORY.md §10 (test-local)."""

    def __init__(self, st: Structure, params: Params):
        self.sizes, self.s, self.bias = st.sizes, st.s, st.bias
        self.sigma = COMPLEX_SIGMA[st.activation.name]
        self.c = [1.0 if st.parametrization == "standard" else math.sqrt(m) for m in st.sizes[:-1]]
        self.L = len(st.sizes) - 1
        self.trained = [k for k in range(self.L) if k < self.L - 1 or st.train_output]
        self.W = [np.array(w) for w in params.W]
        self.b = None if params.b is None else [np.array(x) for x in params.b]

    def theta(self) -> np.ndarray:
        parts = []
        for k in self.trained:
            parts.append(self.W[k].ravel())
            if self.bias:
                parts.append(self.b[k])
        return np.concatenate(parts)

    def forward(self, X, theta):
        lead = theta.shape[:-1]
        W = [np.broadcast_to(w, lead + w.shape) for w in self.W]
        b = [np.broadcast_to(x, lead + x.shape) for x in self.b] if self.bias else None
        i = 0
        for k in self.trained:
            r, c = self.sizes[k + 1], self.sizes[k]
            W[k] = theta[..., i : i + r * c].reshape((*lead, r, c))
            i += r * c
            if self.bias:
                b[k] = theta[..., i : i + r]
                i += r
        h = np.broadcast_to(X, lead + X.shape)
        for k in range(self.L):
            z = np.einsum("...ij,...nj->...ni", W[k], h) / self.c[k]
            if self.bias:
                z = z + b[k][..., None, :]
            h = self.sigma(z) if k < self.L - 1 else z
        return self.s * h[..., 0]

    def jacobian(self, X, theta=None, step=1e-30):
        theta = self.theta() if theta is None else theta
        T = theta[None, :] + 1j * step * np.eye(theta.size)
        return (self.forward(X, T).imag / step).T

    def hessians(self, X, theta=None, h=1e-30, k=1e-5, chunk=32):
        theta = self.theta() if theta is None else theta
        P = theta.size
        E = np.eye(P)
        H = np.empty((X.shape[0], P, P))
        for a0 in range(0, P, chunk):
            a = np.arange(a0, min(P, a0 + chunk))
            base = theta[None, None, :] + 1j * h * E[a][:, None, :]
            plus = self.forward(X, base + k * E[None, :, :]).imag / h
            minus = self.forward(X, base - k * E[None, :, :]).imag / h
            H[:, a, :] = np.moveaxis((plus - minus) / (2 * k), -1, 0)
        return 0.5 * (H + np.transpose(H, (0, 2, 1)))


def make(act, widths, *, d=3, n=6, bias=True, train_output=True, param="ntk", s=1.0, seed=0):
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, 1)
    scale = [1.0 if param == "ntk" else 1.0 / math.sqrt(m) for m in sizes[:-1]]
    W = tuple(
        scale[k] * rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)
    )
    b = (
        tuple(0.1 * rng.standard_normal(sizes[k + 1]) for k in range(len(sizes) - 1))
        if bias
        else None
    )
    X = rng.standard_normal((n, d))
    st = Structure(sizes, get_activation(act), param, s, bias, train_output)
    params = Params(W, b)
    return MlpNetwork(st, params), Reference(st, params), X


def dense_tensor_norm(Hs, restarts=40, sweeps=400, seed=0):
    """max over unit q, u, v of Σ_j q_j uᵀH_j v by alternating maximization (dense)."""
    rng = np.random.default_rng(seed)
    P = Hs.shape[1]
    best = 0.0
    for _ in range(restarts):
        u, v = rng.standard_normal(P), rng.standard_normal(P)
        u, v, value = u / np.linalg.norm(u), v / np.linalg.norm(v), 0.0
        for _ in range(sweeps):
            T = np.einsum("a,jab,b->j", u, Hs, v)
            A = np.einsum("j,jab->ab", T / np.linalg.norm(T), Hs)
            u = A @ v
            u /= np.linalg.norm(u)
            v = A @ u
            v /= np.linalg.norm(v)
            new = float(np.linalg.norm(np.einsum("a,jab,b->j", u, Hs, v)))
            if abs(new - value) <= 1e-13 * new:
                break
            value = new
        best = max(best, new)
    return best


DEPTHS = {2: (7,), 3: (6, 5), 4: (5, 4, 4)}
FLAGS = [(True, True), (True, False), (False, True), (False, False)]


# ---- σ_min, σ_max, L0 against complex step ------------------------------------------


@pytest.mark.parametrize("bias,train_output", FLAGS)
@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus", "relu"])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_spectrum_and_loss_match_complex_step(depth, act, bias, train_output):
    """σ_min, σ_max (from the structured Gram) and L0 to 1e-8 relative; κ(J) ≤ 1e3 here,
    so the eigenvalues of K0 carry ≈ κ²·u ≈ 1e-10 relative error at most."""
    param = "ntk" if depth != 3 else "standard"
    net, ref, X = make(act, DEPTHS[depth], bias=bias, train_output=train_output, param=param)
    J = ref.jacobian(X)
    sv = np.linalg.svd(J, compute_uv=False)
    lam = np.linalg.eigvalsh(net.gram(X))
    assert math.sqrt(lam[0]) == pytest.approx(sv[-1], rel=1e-8)
    assert math.sqrt(lam[-1]) == pytest.approx(sv[0], rel=1e-8)
    y, gamma = np.linspace(-1, 1, X.shape[0]), 3.0
    loss = 0.5 * np.sum((gamma * net.forward(X) - y) ** 2)
    loss_ref = 0.5 * np.sum((gamma * ref.forward(X, ref.theta()) - y) ** 2)
    assert loss == pytest.approx(loss_ref, rel=1e-8)
    # the linearization's products are the reference Jacobian's
    lin = net.linearize(X)
    v, r = np.random.default_rng(1).standard_normal((2, J.shape[1]))[0], np.ones(X.shape[0])
    np.testing.assert_allclose(lin.jvp(v), J @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lin.vjp(r), J.T @ r, rtol=1e-10, atol=1e-12)


def test_pipeline_reports_the_reference_spectrum_and_loss(tmp_path):
    """certify on an init file: σ_min, σ_max, L0 in the JSON equal the dense reference's."""
    net, ref, _ = make("tanh", (6, 5), d=4, bias=True, param="ntk", seed=3)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((8, 4)), rng.standard_normal(8)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    arrays = {f"W{k + 1}": w for k, w in enumerate(net.params.W)}
    arrays |= {f"b{k + 1}": b for k, b in enumerate(net.params.b)}
    np.savez(tmp_path / "w0.npz", **arrays)
    spec = tmp_path / "mlp.yaml"
    spec.write_text(
        "gamma: 7.0\ndata: {source: file, path: data.npz}\n"
        "model: {architecture: mlp, widths: [6, 5], init: file, init_path: w0.npz}\n"
    )
    sv = np.linalg.svd(ref.jacobian(X), compute_uv=False)
    loss = 0.5 * np.sum((7.0 * ref.forward(X, ref.theta()) - y) ** 2)
    r = certify_spec(parse_spec(spec.read_text(), source=str(spec), base_dir=tmp_path))
    assert r.estimate.sigma_min == pytest.approx(sv[-1], rel=1e-8)
    assert r.estimate.sigma_max == pytest.approx(sv[0], rel=1e-8)
    assert r.estimate.loss0 == pytest.approx(loss, rel=1e-8)
    bounds = r.estimate.measurement.bounds
    assert bounds.rigorous and bounds.sigma_min_lower <= sv[-1] and bounds.sigma_max_upper >= sv[0]
    assert 0 < bounds.gram_error <= 1e-10 * float(np.sum(sv**2))


# ---- local β and the Hessian bounds against dense Hessians ----------------------------


@pytest.mark.parametrize("bias,train_output", [(True, True), (False, False)])
@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus"])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_local_beta_matches_dense_hessians(depth, act, bias, train_output):
    """β_loc to 1% of a dense alternating maximization with 40 starts; the nested-JVP
    products themselves to 1e-7 (the reference Hessians' error is ≈ 1e-10)."""
    net, ref, X = make(act, DEPTHS[depth], bias=bias, train_output=train_output)
    Hs = ref.hessians(X)
    rng = np.random.default_rng(2)
    u, v = rng.standard_normal((2, Hs.shape[1]))
    q = rng.standard_normal(X.shape[0])
    st, p = net.structure, net.params
    scale = np.abs(Hs).max()
    np.testing.assert_allclose(
        hessian_form(X, st, p, u, v), np.einsum("a,jab,b->j", u, Hs, v), atol=1e-7 * scale * 10
    )
    np.testing.assert_allclose(
        hessian_vector(X, st, p, q, u), np.einsum("j,jab,b->a", q, Hs, u), atol=1e-7 * scale * 10
    )
    dense = dense_tensor_norm(Hs)
    local = net.local_beta(X)
    assert local.value == pytest.approx(dense, rel=1e-2)
    # β_loc is a lower bound on every Lipschitz constant: the rigorous β(0) must exceed it
    assert net.beta(X).beta >= dense * (1 - 1e-8)


@pytest.mark.parametrize(
    "act", ["tanh", "gelu", "softplus", "sin", "sigmoid", "quadratic", "identity"]
)
@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_hessian_bounds_dominate_dense_hessians(depth, act):
    """B_j(ρ) ≥ ‖∇²f(x_j; θ)‖ at θ0 and at random points of the ball (docs/theory-mlp.md §4).

    Where the bound is exact (identity, one hidden layer) the reference Hessian's ≈ 1e-10
    error shows, hence the 1e-8 tolerance.
    """
    for bias, train_output, param in [(True, True, "ntk"), (False, False, "standard")]:
        net, ref, X = make(
            act, DEPTHS[depth], bias=bias, train_output=train_output, param=param, s=0.7
        )
        ball = net._ball(X)
        rng = np.random.default_rng(5)
        theta0 = ref.theta()
        for rho in (0.0, 0.05, 0.3):
            B = ball.hessian_bounds(rho)
            for step in _ball_points(net, theta0, rng) if rho else [np.zeros_like(theta0)]:
                norms = np.abs(np.linalg.eigvalsh(ref.hessians(X, theta0 + rho * step))).max(axis=1)
                assert np.all(norms <= B * (1 + 1e-8) + 1e-12), (rho, norms / B)


def _ball_points(net, theta0, rng):
    """Unit steps: two random ones, and per trained layer the largest weight grown by the whole
    budget (this maximizes ‖g‖_∞ through the output row, and |z| for quadratic σ)."""
    steps = [rng.standard_normal(theta0.size) for _ in range(2)]
    W, _ = net.structure.split(np.arange(theta0.size))
    for block in W.values():
        k = block.ravel()[np.argmax(np.abs(theta0[block.ravel()]))]
        e = np.zeros_like(theta0)
        e[k] = np.sign(theta0[k]) or 1.0
        steps.append(e)
    return [s / np.linalg.norm(s) for s in steps]


# ---- rigour by search (THEORY.md §11) ---------------------------------------------------


def ascent(ref, X, rho, *, restarts=10, steps=30, seed=0, eps=1e-6):
    """max ‖J_θ − J0‖_op over projected gradient ascent on the sphere ‖θ − θ0‖ = ρ, with the
    reference Jacobians; the gradient of pᵀ J_θ q is (J(θ + εq) − J(θ − εq))ᵀp/(2ε)."""
    rng = np.random.default_rng(seed)
    theta0, J0 = ref.theta(), ref.jacobian(X)
    best = 0.0
    for _ in range(restarts):
        u = rng.standard_normal(theta0.size)
        theta = theta0 + rho * u / np.linalg.norm(u)
        for _ in range(steps):
            U, S, Vt = np.linalg.svd(ref.jacobian(X, theta) - J0, full_matrices=False)
            best = max(best, float(S[0]))
            p, q = U[:, 0], Vt[0]
            g = (ref.jacobian(X, theta + eps * q) - ref.jacobian(X, theta - eps * q)).T @ p
            step = theta - theta0 + 0.5 * rho * g / max(np.linalg.norm(g), 1e-300)
            theta = theta0 + rho * step / np.linalg.norm(step)
    return best


@pytest.mark.parametrize("bias,train_output", [(True, True), (False, False)])
@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus"])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_drift_bound_survives_projected_ascent(depth, act, bias, train_output):
    """Inside the ball of radius ρ* the searched ‖J_θ − J0‖ stays below σ_min/2 = h(ρ*), and
    β(ρ*) = σ_min/(2ρ*) is at least β_loc (which bounds every Lipschitz constant from below)."""
    net, ref, X = make(act, DEPTHS[depth], bias=bias, train_output=train_output)
    smin = float(np.linalg.svd(ref.jacobian(X), compute_uv=False)[-1])
    drift = net.drift(X)
    assert drift.kind == "ball_lipschitz" and drift.rigorous
    rho = drift.safe_radius(0.5 * smin)
    assert drift.h(rho) <= 0.5 * smin < drift.h(rho * (1 + 1e-9))
    measured = ascent(ref, X, rho)
    assert measured <= 0.5 * smin * (1 + 1e-9)
    beta_star, beta_loc = 0.5 * smin / rho, net.local_beta(X).value
    assert 1.0 <= beta_star / beta_loc <= 50.0  # measured 1.3–11 (docs/theory-mlp.md §6)


# ---- the two-layer network is the one-hidden-layer mlp ----------------------------------


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_one_hidden_layer_equals_the_two_layer_family(tmp_path, act):
    """Same W, a = ±1, no bias, frozen output, standard: σ_min, σ_max, L0, K0 to 1e-12; relu's
    activation-flip drift bound is the same function."""
    rng = np.random.default_rng(0)
    N, d = 40, 5
    W = rng.standard_normal((N, d)) / math.sqrt(d)
    a = rng.choice([-1.0, 1.0], size=N)
    np.savez(tmp_path / "two.npz", W=W, a=a)
    np.savez(tmp_path / "mlp.npz", W1=W, W2=a[None, :])
    head = "seed: 3\ngamma: 50.0\ndata: {n: 12, d: 5}\n"
    two = head + f"model: {{width: {N}, activation: {act}, init: file, init_path: two.npz}}\n"
    mlp = head + (
        f"model: {{architecture: mlp, widths: [{N}], activation: {act}, parametrization: "
        "standard, bias: false, train_output: false, init: file, init_path: mlp.npz}\n"
    )
    r2, rm = (certify_spec(parse_spec(t, source="s.yaml", base_dir=tmp_path)) for t in (two, mlp))
    for key in ("sigma_min", "sigma_max", "loss0"):
        assert getattr(rm.estimate, key) == pytest.approx(getattr(r2.estimate, key), rel=1e-12)
    p2, pm = (build_problem(parse_spec(t, source="s.yaml", base_dir=tmp_path)) for t in (two, mlp))
    X = p2.X
    K2, Km = p2.model.gram(X), pm.model.gram(X)
    assert np.max(np.abs(Km - K2)) <= 1e-12 * np.max(np.abs(K2))
    if act == "relu":
        d2, dm = p2.model.drift(X), pm.model.drift(X)
        assert dm.kind == d2.kind == "flip_count"
        for rho in (1e-3, 1e-2, 1e-1, 1.0):
            assert dm.h(rho) == pytest.approx(d2.h(rho), rel=1e-12)
        assert rm.certificate.gamma_star == pytest.approx(r2.certificate.gamma_star, rel=1e-9)


# ---- structure of the bound ----------------------------------------------------------


def test_ball_beta_decays_with_width_and_the_l2_chain_does_not():
    """Per-neuron ‖g‖_∞ keeps the Hessian's 1/√width decay (THEORY.md §10's warning):
    16× the width gives ≈ ¼ of β(0) (measured 0.33); the ℓ2 chain stays (measured 1.08)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 8))
    values = {}
    for m in (64, 1024):
        net, _, _ = make("tanh", (m, m), d=8, n=16)
        summary = net.beta(X)
        values[m] = summary.beta, summary.bounds["l2_chain_at_theta0"]
    assert values[1024][0] / values[64][0] < 0.5
    assert values[1024][1] / values[64][1] > 0.7


def test_safe_radius_is_the_bisected_root():
    net, _ref, X = make("gelu", (6, 5))
    drift = net.drift(X)
    for target in (1e-3, 0.05, 0.3):
        rho = drift.safe_radius(target)
        assert drift.h(rho) <= target < drift.h(rho * (1 + 1e-10))
    assert drift.safe_radius(0.0) == 0.0


def test_linear_two_layer_model_has_no_drift():
    """identity σ, one hidden layer, frozen output: f is linear in θ, h ≡ 0, every γ certifies."""
    net, _ref, X = make("identity", (6,), bias=False, train_output=False)
    drift = net.drift(X)
    assert drift.kind == "lipschitz" and drift.h(1.0) == 0.0 and math.isinf(drift.safe_radius(1.0))


def test_relu_like_deep_network_is_not_applicable(tmp_path):
    text = (
        "gamma: 100.0\ndata: {n: 8, d: 3}\n"
        "model: {architecture: mlp, widths: [16, 16], activation: relu, centered: true}\n"
    )
    r = certify_spec(parse_spec(text, source="s.yaml", base_dir=tmp_path))
    assert r.estimate.measurement.drift.kind == "none"
    assert r.certificate.status.value == "not_applicable"


def test_obstruction_zero_input():
    net, _, X = make("tanh", (6, 5), bias=False)
    X = X.copy()
    X[2] = 0.0
    assert net.obstruction(X).index == 2
    assert make("tanh", (6, 5), bias=True)[0].obstruction(X) is None
    # σ(0) ≠ 0 feeds the next layer: the row of J does not vanish
    assert make("softplus", (6, 5), bias=False)[0].obstruction(X) is None
    assert make("softplus", (6,), bias=False, train_output=False)[0].obstruction(X).index == 2


def test_info_describes_the_network():
    net, _, _ = make("gelu", (6, 5), d=3, bias=False, train_output=False, param="standard", s=0.5)
    info = net.info()
    assert info.head == "mlp gelu network, widths [6, 5], d = 3"
    assert info.tail == "standard parametrization, no bias, frozen output, s = 0.5"
    assert info.family == "mlp" and info.params == net.n_params == 3 * 6 + 6 * 5


# ---- simulate ------------------------------------------------------------------------------


SIMULATE = """\
seed: 1
gamma: 300
data: {n: 4, d: 3}
model: {architecture: mlp, widths: [32, 32], activation: softplus, bias: false,
        parametrization: standard, centered: true}
simulate: {points: 5, loss_tol: 1.0e-4}
"""


def test_simulate_runs_and_every_conclusion_holds():
    """The flow works through the protocol (linearize/vjp/theta0): C1–C5 hold, the laziness
    measures are reported (γ ≈ 3.6 γ*_p, so the network is lazy: small kernel change)."""
    result = simulate_spec(parse_spec(SIMULATE, source="sim.yaml", base_dir=Path(".")))
    assert result.certificate.certified
    sim = result.simulation
    assert sim.status == "completed" and sim.all_hold
    path = [c for c in sim.checks if c.applicable]
    assert {c.id for c in path} == {"C1", "C2", "C3", "C4", "C5"}
    assert all(c.holds for c in path)
    assert sim.loss[-1] < 1e-3 * sim.loss[0]
    assert 0 < np.max(sim.kernel_change) < 0.1 and 0 < np.max(sim.weight_change) < 0.1
    assert 0 < sim.beta_path <= result.estimate.beta


# ---- the spec block ------------------------------------------------------------------------


BAD_SPECS = [
    ("model: {architecture: mlp}", "model.widths: required"),
    ("model: {architecture: mlp, widths: [4], widht: 3}", "did you mean 'widths'"),
    ("model: {architecture: mpl, widths: [4]}", "did you mean 'mlp'"),
    ("model: {architecture: mlp, widths: [4, 0]}", "model.widths.1"),
    (
        "model: {architecture: mlp, widths: [4], init_std: [1.0]}",
        "has 1 values but the network has 2",
    ),
    ("model: {architecture: mlp, widths: [4], parametrization: NTK}", "model.parametrization"),
    ("model: {architecture: mlp, widths: [4], scaling: ntk}", "model.scaling: unknown key"),
    (
        "model: {architecture: mlp, widths: [4], init: file}",
        "init_path: w0.npz` (arrays W1 to W2, b1 to b2)",
    ),
]


@pytest.mark.parametrize("model,fragment", BAD_SPECS)
def test_bad_mlp_block_exits_2_with_one_line(tmp_path, capsys, model, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(f"gamma: 1\ndata: {{n: 4, d: 2}}\n{model}\n")
    assert main(["certify", str(path), "--format", "text"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines


@pytest.mark.parametrize(
    "arrays,fragment",
    [
        ({"W1": np.ones((4, 3)), "W2": np.ones((1, 4))}, "W1 must have shape (4, 2)"),
        ({"W1": np.ones((4, 2)), "W2": np.ones((4,))}, "W2 must have shape (1, 4)"),
        ({"W1": np.ones((4, 2))}, "needs W2"),
        ({"W1": np.full((4, 2), np.nan), "W2": np.ones((1, 4))}, "W1[0, 0] is nan"),
    ],
)
def test_bad_init_file_exits_2_naming_the_array(tmp_path, capsys, arrays, fragment):
    np.savez(tmp_path / "w0.npz", **arrays)
    path = tmp_path / "bad.yaml"
    path.write_text(
        "gamma: 1\ndata: {n: 4, d: 2}\nmodel: {architecture: mlp, widths: [4], bias: false, "
        "init: file, init_path: w0.npz}\n"
    )
    assert main(["certify", str(path), "--format", "text"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines


def test_json_names_the_drift_bound_and_the_beta_candidates(capsys, tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "gamma: 1.0e4\ndata: {n: 6, d: 3}\n"
        "model: {architecture: mlp, widths: [64, 64], activation: tanh, centered: true}\n"
    )
    main(["certify", str(path), "--format", "json"])
    est = json.loads(capsys.readouterr().out)["results"][0]["estimate"]
    assert est["drift_bound"] == "ball_lipschitz"
    assert set(est["beta_bounds"]) == {"ball_at_theta0", "l2_chain_at_theta0"}
    assert est["beta"] == est["beta_bounds"]["ball_at_theta0"] > 0


@pytest.mark.parametrize("act, widths", [("tanh", [256, 256]), ("gelu", [64, 64, 64])])
def test_ball_safe_radius_is_the_crossing_from_below_and_cached(act, widths):
    """ρ* = sup{ρ : h(ρ) ≤ t}: h(ρ*) ≤ t, h just above ρ* exceeds t (Brent's answer
    moved below the crossing by RADIUS_RTOL), for targets over four decades; a second
    request for the same target is answered without evaluating h."""
    from ntkcheck.models.mlp import ball

    text = (
        "gamma: 1.0e4\ndata: {n: 64, d: 16}\n"
        f"model: {{architecture: mlp, widths: {widths}, activation: {act}}}\n"
    )
    problem = build_problem(parse_spec(text, source="t", base_dir=Path(".")))
    drift = problem.model.drift(problem.X)
    assert isinstance(drift, ball.BallDrift)
    for target in (1e-3, 0.1, 1.0, 10.0):
        rho = drift.safe_radius(target)
        assert 0.0 < rho < math.inf
        assert drift.h(rho) <= target < drift.h(rho * (1.0 + 4.0 * ball.RADIUS_RTOL))
    calls = []
    object.__setattr__(drift, "h", lambda r: calls.append(r) or ball.BallDrift.h(drift, r))
    assert drift.safe_radius(1.0) == drift.safe_radius(1.0) and calls == []
