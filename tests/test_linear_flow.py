"""``theory.linear_flow``: the closed form against matrix exponentials (direct tests).

The linearized flow in rescaled time τ = γ²t is r̃' = −K0 r̃, γ(θ̃ − θ0)' = −J0ᵀ r̃, so
r̃(τ) = e^{−K0τ} r0 and γ(θ̃ − θ0) = −J0ᵀ ∫₀^τ e^{−K0 s} r0 ds. The integral is read off
the exponential of the block matrix [[−K0, I], [0, 0]] (Van Loan), which needs no
eigendecomposition and no inverse, so a singular K0 is covered too.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from ntkcheck.theory.linear_flow import LinearizedFlow


def _reference(J, r0, tau):
    n = J.shape[0]
    K = J @ J.T
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n], block[:n, n:] = -K * tau, np.eye(n) * tau
    E = expm(block)
    return E[:n, :n] @ r0, E[:n, n:] @ r0  # e^{−Kτ} r0, ∫₀^τ e^{−Ks} ds r0


@pytest.mark.parametrize(("n", "P"), [(4, 9), (6, 3)], ids=["full-rank", "singular"])
@pytest.mark.parametrize("tau", [0.0, 0.03, 1.0, 20.0])
def test_closed_form_equals_the_matrix_exponential(n, P, tau):
    rng = np.random.default_rng(n * 100 + P)
    J = rng.standard_normal((n, P))
    r0 = rng.standard_normal(n)
    gamma = 7.0
    flow = LinearizedFlow.from_gram(J @ J.T, r0, gamma)
    r_ref, u_ref = _reference(J, r0, tau)
    scale = np.linalg.norm(r0)
    # eigh and expm both backward stable on a matrix of norm ≲ 40τ: 1e-10 relative
    np.testing.assert_allclose(flow.residual(tau), r_ref, atol=1e-10 * scale)
    u = flow.displacement_weights(tau)
    np.testing.assert_allclose(J.T @ u, J.T @ u_ref, atol=1e-10 * scale * max(1.0, tau))
    assert flow.param_dist(tau) == pytest.approx(
        np.linalg.norm(J.T @ u_ref) / gamma, rel=1e-9, abs=1e-12
    )


def test_a_null_direction_of_k0_keeps_its_residual_and_grows_linearly():
    """Where λ = 0 the residual's component stays and c grows as τ (the limit of
    (1 − e^{−λτ})/λ)."""
    K = np.diag([2.0, 0.0])
    flow = LinearizedFlow.from_gram(K, np.array([1.0, 3.0]), 1.0)
    np.testing.assert_allclose(flow.residual(5.0), [np.exp(-10.0), 3.0], rtol=1e-14)
    # in the eigenbasis, eigenvalues ascending: λ = 0 first
    np.testing.assert_allclose(
        np.abs(flow.coefficients(5.0)), [15.0, (1 - np.exp(-10.0)) / 2.0], rtol=1e-14
    )
