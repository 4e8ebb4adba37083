"""The ``mlp`` family with C outputs (THEORY.md §14, docs/theory-mlp.md §9) against
independent references built here: a re-implementation of the network in PyTorch whose
dense (n·C) × P Jacobian and per-row Hessians come from ``torch.func`` in float64, and,
for the rounding bounds, a back-propagation in extended precision (``np.longdouble``,
u = 2⁻⁶⁴) written from THEORY.md §10's formulas. Rows are stacked point-major (row
j·C + c is output c of point j). Nothing here calls the family's passes for a reference.
"""

from __future__ import annotations

import math
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from ntkcheck.errors import DataError
from ntkcheck.models.activations import get_activation
from ntkcheck.models.mlp import MlpNetwork, Params, Structure, build, plan_bytes
from ntkcheck.models.mlp.local_beta import hessian_form, hessian_vector
from ntkcheck.models.mlp.spec import MlpSpec

torch = pytest.importorskip("torch")
func = torch.func

TORCH_SIGMA = {
    "tanh": torch.tanh,
    "gelu": lambda z: 0.5 * z * (1.0 + torch.erf(z / math.sqrt(2.0))),
    "relu": torch.relu,
    "softplus": torch.nn.functional.softplus,
    "quadratic": lambda z: 0.5 * z * z,
    "identity": lambda z: z,
}


class TorchNet:
    """f(X; θ) (n·C,) point-major, in float64, from the structure's fields and the weights."""

    def __init__(self, net: MlpNetwork):
        st = net.structure
        self.sizes, self.s, self.bias = st.sizes, st.s, st.bias
        self.sigma = TORCH_SIGMA[st.activation.name]
        self.c = [1.0 if st.parametrization == "standard" else math.sqrt(m) for m in st.sizes[:-1]]
        self.L = len(st.sizes) - 1
        self.trained = [k for k in range(self.L) if k < self.L - 1 or st.train_output]
        self.W = [torch.tensor(w, dtype=torch.float64) for w in net.params.W]
        self.b = None if net.params.b is None else [torch.tensor(x) for x in net.params.b]

    def theta0(self) -> torch.Tensor:
        parts = []
        for k in self.trained:
            parts.append(self.W[k].reshape(-1))
            if self.bias:
                parts.append(self.b[k])
        return torch.cat(parts)

    def f(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        W, b = list(self.W), None if self.b is None else list(self.b)
        i = 0
        for k in self.trained:
            r, c = self.sizes[k + 1], self.sizes[k]
            W[k] = theta[i : i + r * c].reshape(r, c)
            i += r * c
            if self.bias:
                b[k] = theta[i : i + r]
                i += r
        h = X
        for k in range(self.L):
            z = h @ W[k].T / self.c[k]
            if self.bias:
                z = z + b[k]
            h = self.sigma(z) if k < self.L - 1 else z
        return (self.s * h).reshape(-1)

    def jacobian(self, X: np.ndarray, theta: torch.Tensor | None = None) -> np.ndarray:
        theta = self.theta0() if theta is None else theta
        Xt = torch.tensor(X)
        return func.jacrev(lambda t: self.f(t, Xt))(theta).numpy()

    def hessians(self, X: np.ndarray, theta: torch.Tensor | None = None) -> np.ndarray:
        """(m, P, P): ∇²f_c(x_j) for row j·C + c."""
        theta = self.theta0() if theta is None else theta
        Xt = torch.tensor(X)
        return func.jacfwd(func.jacrev(lambda t: self.f(t, Xt)))(theta).numpy()


def make(act, widths, C, *, d=3, n=6, bias=True, train_output=True, param="ntk", s=0.8, seed=0):
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, C)
    scale = [1.0 if param == "ntk" else 1.0 / math.sqrt(m) for m in sizes[:-1]]
    W = tuple(
        scale[k] * rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(widths) + 1)
    )
    b = tuple(0.1 * rng.standard_normal(m) for m in sizes[1:]) if bias else None
    st = Structure(sizes, get_activation(act), param, s, bias, train_output)
    net = MlpNetwork(st, Params(W, b))
    return net, TorchNet(net), rng.standard_normal((n, d))


def rel(a, b):
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-300)


def dense_tensor_norm(T, restarts=30, sweeps=400, seed=0):
    """max over unit q, u, v of Σ_r q_r uᵀT_r v, by alternating maximization on the dense
    tensor T (R, P, P) (a lower estimate of the norm; the test's own implementation)."""
    rng = np.random.default_rng(seed)
    P = T.shape[1]
    best = 0.0
    for _ in range(restarts):
        u, v = rng.standard_normal(P), rng.standard_normal(P)
        u, v, value = u / np.linalg.norm(u), v / np.linalg.norm(v), 0.0
        new = 0.0
        for _ in range(sweeps):
            t = np.einsum("a,rab,b->r", u, T, v)
            A = np.einsum("r,rab->ab", t / max(np.linalg.norm(t), 1e-300), T)
            u = A @ v
            u /= max(np.linalg.norm(u), 1e-300)
            v = A @ u
            v /= max(np.linalg.norm(v), 1e-300)
            new = float(np.linalg.norm(np.einsum("a,rab,b->r", u, T, v)))
            if abs(new - value) <= 1e-13 * new:
                break
            value = new
        best = max(best, new)
    return best


DEPTHS = {2: (12,), 3: (7, 5)}
FLAGS = [(True, True), (True, False), (False, True), (False, False)]
OUTPUTS = (2, 3, 4, 5)


# ---- products, Gram and spectrum against the torch Jacobian ----------------------------


@pytest.mark.parametrize("bias,train_output", FLAGS)
@pytest.mark.parametrize("act", ["tanh", "gelu", "relu"])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("C", OUTPUTS)
def test_products_gram_and_spectrum_match_torch(C, depth, act, bias, train_output):
    """forward, jvp/vjp (single and batched), gram (model and linearization), the Gram
    operator (cached or not) and drift_gram equal the dense torch J to 1e-12 relative
    (sums of the same O(P) products in other orders); σ_min, σ_max to 1e-8 (κ(J) < 3e3
    here, so K0's eigenvalues carry ≤ κ²u·few ≈ 1e-9)."""
    param = "ntk" if (C + depth) % 2 else "standard"
    net, ref, X = make(act, DEPTHS[depth], C, bias=bias, train_output=train_output, param=param)
    n, m, P = X.shape[0], X.shape[0] * C, net.n_params
    assert net.outputs == C and net.structure.sizes[-1] == C
    J = ref.jacobian(X)
    assert J.shape == (m, P)
    f_ref = ref.f(ref.theta0(), torch.tensor(X)).numpy()
    assert rel(net.forward(X), f_ref) <= 1e-13
    lin = net.linearize(X)
    assert rel(lin.f, f_ref) <= 1e-13
    rng = np.random.default_rng(1)
    v, r = rng.standard_normal(P), rng.standard_normal(m)
    V, R = rng.standard_normal((P, 3)), rng.standard_normal((m, 2))
    assert rel(lin.jvp(v), J @ v) <= 1e-12 and rel(lin.jvp(V), J @ V) <= 1e-12
    assert rel(lin.vjp(r), J.T @ r) <= 1e-12 and rel(lin.vjp(R), J.T @ R) <= 1e-12
    K_ref = J @ J.T
    K = net.gram(X)
    assert K.shape == (m, m) and np.array_equal(K, K.T)
    assert rel(K, K_ref) <= 1e-12 and rel(lin.gram(), K_ref) <= 1e-12
    for cache in (True, False):
        assert rel(net.gram_operator(X, cache=cache)(r), K_ref @ r) <= 1e-12
    sv = np.linalg.svd(J, compute_uv=False)
    lam = np.linalg.eigvalsh(K)
    assert math.sqrt(lam[-1]) == pytest.approx(sv[0], rel=1e-8)
    # relu with a frozen output can leave fewer active units than outputs at a point (J's
    # block of that point then has rank < C): compare σ_min where J is well conditioned
    # (κ < 3e3: λ_min's rounding ≈ κ²·u·few ≤ 1e-8 relative)
    assert sv[0] / sv[m - 1] < 3e3 or act == "relu"
    if sv[0] / sv[m - 1] < 3e3:
        assert math.sqrt(lam[0]) == pytest.approx(sv[m - 1], rel=1e-8)
    # the Gram of a Jacobian difference at a nearby θ (every term has two small factors)
    theta1 = net.theta0 + 0.05 * rng.standard_normal(P) / math.sqrt(P)
    dJ = ref.jacobian(X, torch.tensor(theta1)) - J
    assert rel(net.linearize(X, theta1).drift_gram(lin), dJ @ dJ.T) <= 1e-9
    assert (
        rel(net.forward(X, theta1), ref.f(torch.tensor(theta1), torch.tensor(X)).numpy()) <= 1e-13
    )
    assert n * C == m


@pytest.mark.parametrize(("n", "C", "bias"), [(150, 4, True), (520, 2, False)])
def test_gram_when_m_takes_the_scipy_path(n, C, bias):
    """m > 512: the signal Gram comes from SciPy's dsyrk (Fortran, upper triangle) while the
    n × n activation Gram may come from NumPy (C-ordered): the spread over the C × C blocks
    reads the right triangle of each (against the torch J, 1e-12 relative)."""
    net, ref, X = make("gelu", (24, 16), C, d=5, n=n, bias=bias)
    J = ref.jacobian(X)
    K_ref = J @ J.T
    K = net.gram(X)
    assert K.shape == (n * C, n * C) and np.array_equal(K, K.T)
    assert rel(K, K_ref) <= 1e-12


# ---- the rounding bounds against extended precision --------------------------------------

LD = np.longdouble
LD_SIGMA = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(LD)),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
}


def extended_backprop(net: MlpNetwork, X: np.ndarray):
    """In long double: the layer inputs h_k (n × width), the signals δ_k and g_k (per row
    (j, c): m × width) and the rows of J (m × P), by THEORY.md §10's formulas."""
    st = net.structure
    sigma, prime = LD_SIGMA[st.activation.name]
    L, C, n = st.depth, st.outputs, X.shape[0]
    alpha = [
        LD(1) if st.parametrization == "standard" else 1 / np.sqrt(LD(m)) for m in st.sizes[:-1]
    ]
    W = [w.astype(LD) for w in net.params.W]
    b = None if net.params.b is None else [x.astype(LD) for x in net.params.b]
    H, Z = [X.astype(LD)], []
    for k in range(L - 1):
        z = alpha[k] * (H[k] @ W[k].T) + (0 if b is None else b[k])
        Z.append(z)
        H.append(sigma(z))
    G: list = [None] * (L - 1)
    D: list = [None] * (L - 1)
    for k in range(L - 2, -1, -1):
        if k == L - 2:
            G[k] = np.tile(LD(st.s) * alpha[L - 1] * W[L - 1], (n, 1))  # row j·C + c: s α W_L[c]
        else:
            G[k] = alpha[k + 1] * (D[k + 1] @ W[k + 1])
        D[k] = G[k] * np.repeat(prime(Z[k]), C, axis=0)
    rows = []
    for j in range(n):
        for c in range(C):
            parts = []
            for k in st.trained_layers:
                if k == L - 1:
                    blk = np.zeros((C, st.sizes[L - 1]), dtype=LD)
                    blk[c] = LD(st.s) * alpha[k] * H[k][j]
                    parts.append(blk.ravel())
                    if st.bias:
                        e = np.zeros(C, dtype=LD)
                        e[c] = LD(st.s)
                        parts.append(e)
                    continue
                parts.append(alpha[k] * np.outer(D[k][j * C + c], H[k][j]).ravel())
                if st.bias:
                    parts.append(D[k][j * C + c])
            rows.append(np.concatenate(parts))
    return H, G, D, np.array(rows)


def op_norms(A: np.ndarray, n: int, C: int) -> np.ndarray:
    """‖A^{(j)}‖_op for the (C × w) row blocks of A (m × w), by SVD in float64 of the exact
    (long double) values rounded once (relative 1e-16, far inside the checks' slack)."""
    return np.array(
        [np.linalg.svd(A[j * C : (j + 1) * C].astype(float), compute_uv=False)[0] for j in range(n)]
    )


@pytest.mark.parametrize("bias,train_output", [(True, True), (False, False), (True, False)])
@pytest.mark.parametrize("act", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize("C", [2, 4])
def test_rounding_bounds_dominate_the_measured_errors(C, act, bias, train_output):
    """E_K ≥ ‖K̂0 − K0‖₂ with K0 in long double (its own error ≈ 2⁻⁶⁴ relative); per row
    ‖Ĵ_jc − J_jc‖² ≤ jac_err2 for the J of the computed factors; the θ0 inputs of the
    drift bound dominate the exact sups over unit q: max_i ‖g_k[i, :]‖, ‖g_k‖_op, ‖δ_k‖_op
    (docs/theory-mlp.md §9); and E_K is useful (≤ 1e-10 tr K)."""
    net, _ref, X = make(act, (7, 5), C, bias=bias, train_output=train_output, seed=C)
    n = X.shape[0]
    H, G, D, J = extended_backprop(net, X)
    K_exact = J @ J.T
    K = net.gram(X)
    trace = float(np.trace(K))
    bound = net.gram_error(X, trace)
    measured = float(np.max(np.abs(np.linalg.eigvalsh((K.astype(LD) - K_exact).astype(float)))))
    assert bound.rigorous and measured <= bound.value <= 1e-10 * trace, (measured, bound.value)
    # the factor error, row by row: the J built exactly from the computed factors
    fac = net.linearize(X).factors
    st = net.structure
    alphas = [LD(a) for a in st.alphas]
    _, t0 = net._pass(X, with_gram=False)
    for j in range(n):
        for c in range(C):
            parts = []
            for k in st.trained_layers:
                if k == st.depth - 1:
                    blk = np.zeros((C, st.sizes[k]), dtype=LD)
                    blk[c] = LD(st.s) * alphas[k] * fac.H[k][j].astype(LD)
                    parts.append(blk.ravel())
                    if st.bias:
                        e = np.zeros(C, dtype=LD)
                        e[c] = LD(st.s)
                        parts.append(e)
                    continue
                row = fac.Delta[k][j * C + c].astype(LD)
                parts.append(alphas[k] * np.outer(row, fac.H[k][j].astype(LD)).ravel())
                if st.bias:
                    parts.append(row)
            err2 = float(np.sum((np.concatenate(parts) - J[j * C + c]) ** 2))
            assert err2 <= t0.jac_err2[j * C + c], (j, c, err2, t0.jac_err2[j * C + c])
    # the sups over unit output weights q (per sample) at θ0
    for k in range(st.depth - 1):
        Gk, Dk = G[k].astype(float), D[k].astype(float)
        rows_inf = np.max(np.linalg.norm(Gk.reshape(n, C, -1), axis=1), axis=1)
        slack = rows_inf * 1e-12 + 1e-12 * float(np.max(rows_inf))  # absolute error terms
        assert np.all(rows_inf <= t0.g[k]) and np.all(t0.g[k] <= rows_inf + slack)
        assert np.all(op_norms(Gk, n, C) <= t0.g2[k])
        dop = op_norms(Dk, n, C)
        assert np.all(dop <= t0.delta[k])
        assert np.all(t0.delta[k] <= dop * (1 + 1e-10) + 1e-12 * float(np.max(dop)))
        exact_h = np.linalg.norm(H[k + 1].astype(float), axis=1)
        assert np.all(exact_h <= t0.h[k + 1])


# ---- local β and the per-sample Hessian bounds ------------------------------------------


@pytest.mark.parametrize("bias,train_output", [(True, True), (False, False)])
@pytest.mark.parametrize("act", ["tanh", "gelu"])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("C", [2, 3])
def test_local_beta_matches_a_power_iteration_on_the_dense_tensor(
    C, depth, act, bias, train_output
):
    """The nested-JVP products equal the dense (m, P, P) tensor's to 1e-10; β_loc to 1% of
    a dense alternating maximization with 30 starts; the rigorous β(0) is at least it."""
    net, ref, X = make(act, DEPTHS[depth], C, bias=bias, train_output=train_output)
    T = ref.hessians(X)
    m = X.shape[0] * C
    assert T.shape == (m, net.n_params, net.n_params)
    rng = np.random.default_rng(2)
    u, v = rng.standard_normal((2, net.n_params))
    q = rng.standard_normal(m)
    st, p = net.structure, net.params
    scale = float(np.abs(T).max()) * net.n_params
    np.testing.assert_allclose(
        hessian_form(X, st, p, u, v), np.einsum("a,rab,b->r", u, T, v), atol=1e-12 * scale
    )
    np.testing.assert_allclose(
        hessian_vector(X, st, p, q, u), np.einsum("r,rab,b->a", q, T, u), atol=1e-12 * scale
    )
    dense = dense_tensor_norm(T)
    local = net.local_beta(X)
    assert local.value == pytest.approx(dense, rel=1e-2)
    assert 0 <= local.extra["sample"] < X.shape[0]
    assert net.beta(X).beta >= dense * (1 - 1e-8)


def _sample_norms(T: np.ndarray, n: int, C: int) -> np.ndarray:
    """Per sample j: max over unit q of ‖Σ_c q_c ∇²f_c(x_j)‖_op (a dense search)."""
    return np.array(
        [dense_tensor_norm(T[j * C : (j + 1) * C], restarts=4, sweeps=200) for j in range(n)]
    )


@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus", "quadratic", "identity"])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("C", [2, 4])
def test_hessian_bounds_dominate_the_sup_over_output_weights(C, depth, act):
    """B_j(ρ) ≥ sup_{‖q‖=1} ‖∇²(qᵀf)(x_j; θ)‖_op — the quantity docs/theory-mlp.md §9 bounds
    — at θ0 and at points of the ball (random, and the largest output weight grown)."""
    for bias, train_output, param in [(True, True, "ntk"), (False, False, "standard")]:
        net, ref, X = make(act, DEPTHS[depth], C, bias=bias, train_output=train_output, param=param)
        ball = net._ball(X)
        rng = np.random.default_rng(5)
        theta0 = net.theta0.copy()
        steps = [rng.standard_normal(theta0.size) for _ in range(2)]
        W, _ = net.structure.split(np.arange(theta0.size))
        last = W[net.structure.depth - 1].ravel() if train_output else W[0].ravel()
        e = np.zeros_like(theta0)
        e[last[np.argmax(np.abs(theta0[last]))]] = 1.0
        steps = [s / np.linalg.norm(s) for s in [*steps, e]]
        for rho in (0.0, 0.1, 0.4):
            B = ball.hessian_bounds(rho)
            for step in steps if rho else [np.zeros_like(theta0)]:
                T = ref.hessians(X, torch.tensor(theta0 + rho * step))
                norms = _sample_norms(T, X.shape[0], C)
                assert np.all(norms <= B * (1 + 1e-9) + 1e-12), (rho, norms / B)


@pytest.mark.parametrize("C", [2, 3, 5])
def test_the_sup_over_output_weights_is_attained_for_a_bilinear_model(C):
    """identity σ, one hidden layer, trained output, no bias: qᵀf is bilinear in (W1, W2) and
    its Hessian norm is s‖x‖/(c1c2) for every unit q — the bound equals it (no factor of √C
    or of ‖W2‖ enters), as docs/theory-mlp.md §9 says."""
    net, ref, X = make("identity", (6,), C, bias=False, train_output=True)
    T = ref.hessians(X)
    norms = _sample_norms(T, X.shape[0], C)
    B = net._ball(X).hessian_bounds(0.0)
    np.testing.assert_allclose(norms / B, 1.0, rtol=1e-8)


@pytest.mark.parametrize("C", [2, 4])
def test_frozen_output_bound_is_the_largest_column_norm(C):
    """One hidden layer, frozen output, no bias: B_j = S₂ s α1² α2 ‖x_j‖² max_i ‖W2[:, i]‖
    (the output matrix enters through its largest column norm: for ±1 entries √C, §14)."""
    net, _ref, X = make("tanh", (9,), C, bias=False, train_output=False, param="standard")
    W2 = net.params.W[1]
    a1, a2 = net.structure.alphas
    s2 = net.structure.activation.lipschitz_derivative
    expect = (
        s2
        * net.structure.s
        * a1**2
        * a2
        * np.sum(X**2, axis=1)
        * np.max(np.linalg.norm(W2, axis=0))
    )
    B = net._ball(X).hessian_bounds(0.3)
    np.testing.assert_allclose(B, expect, rtol=1e-12)


# ---- rigour by search (THEORY.md §11) ------------------------------------------------------


def ascent(ref: TorchNet, X, rho, *, restarts=4, steps=15, seed=0):
    """max ‖J_θ − J0‖_op by projected gradient ascent on the sphere ‖θ − θ0‖ = ρ; the
    gradient of pᵀJ_θ v (top singular pair) is exact, by torch autodiff of a jvp."""
    rng = np.random.default_rng(seed)
    Xt = torch.tensor(X)
    theta0 = ref.theta0()
    J0 = ref.jacobian(X)

    def form(t, p, v):
        return p @ func.jvp(lambda s: ref.f(s, Xt), (t,), (v,))[1]

    best = 0.0
    for _ in range(restarts):
        u = torch.tensor(rng.standard_normal(theta0.numel()))
        theta = theta0 + rho * u / torch.linalg.norm(u)
        for _ in range(steps):
            U, S, Vt = np.linalg.svd(ref.jacobian(X, theta) - J0, full_matrices=False)
            best = max(best, float(S[0]))
            g = func.grad(form)(theta, torch.tensor(U[:, 0]), torch.tensor(Vt[0]))
            step = theta - theta0 + 0.5 * rho * g / max(float(torch.linalg.norm(g)), 1e-300)
            theta = theta0 + rho * step / torch.linalg.norm(step)
    return best


ASCENT_CASES = [
    (C, depth, act, bias, train_output)
    for C in (2, 3, 5)
    for depth in sorted(DEPTHS)
    for act in ("tanh", "gelu")
    for bias, train_output in ((True, True), (False, False))
    if depth == 2 or C == 3
]


@pytest.mark.parametrize(("C", "depth", "act", "bias", "train_output"), ASCENT_CASES)
def test_drift_bound_survives_projected_ascent(C, depth, act, bias, train_output):
    """No θ inside the ball of radius ρ* (h(ρ*) = σ_min/2, σ_min of the m-row torch J) moves J
    by more than σ_min/2; β(ρ*) = σ_min/(2ρ*) is at least β_loc."""
    net, ref, X = make(act, DEPTHS[depth], C, bias=bias, train_output=train_output)
    smin = float(np.linalg.svd(ref.jacobian(X), compute_uv=False)[-1])
    drift = net.drift(X)
    assert drift.kind == "ball_lipschitz" and drift.rigorous
    rho = drift.safe_radius(0.5 * smin)
    assert drift.h(rho) <= 0.5 * smin < drift.h(rho * (1 + 1e-9))
    measured = ascent(ref, X, rho)
    assert 0 < measured <= 0.5 * smin * (1 + 1e-9)
    beta_star, beta_loc = 0.5 * smin / rho, net.local_beta(X).value
    assert 1.0 <= beta_star / beta_loc <= 50.0


def test_relu_flip_bound_with_outputs_survives_a_flip_search():
    """relu, one hidden layer, no bias, frozen C × N output: the activation-flip bound with
    neuron weights ‖W2[:, i]‖² (docs/theory-mlp.md §9). A combinatorial search — move the
    neurons with the smallest margins just across them, alone and together, within ρ —
    never exceeds h(ρ), and some flips move J."""
    C = 3
    net, ref, X = make("relu", (16,), C, d=3, n=8, bias=False, train_output=False, param="standard")
    drift = net.drift(X)
    assert drift.kind == "flip_count"
    W1 = net.params.W[0]
    J0 = ref.jacobian(X)
    norms = np.linalg.norm(X, axis=1)
    margins = np.abs(W1 @ X.T) / norms  # (neuron, point)
    order = np.dstack(np.unravel_index(np.argsort(margins, axis=None), margins.shape))[0]
    moved = 0
    for count in (1, 2, 4, 8):
        W = W1.copy()
        for i, j in order[:count]:
            z = W1[i] @ X[j]
            W[i] = W1[i] - (1 + 1e-6) * z * X[j] / norms[j] ** 2  # just across x_j's hyperplane
        theta = torch.tensor(W.ravel())
        rho = float(np.linalg.norm(W - W1))
        measured = float(np.linalg.svd(ref.jacobian(X, theta) - J0, compute_uv=False)[0])
        moved += measured > 0
        assert measured <= drift.h(rho) * (1 + 1e-12), (count, measured, drift.h(rho))
    assert moved


def test_relu_flip_bound_scales_by_sqrt_c_for_repeated_outputs():
    """C copies of one output row: J repeats each row C times, so ‖J_θ − J0‖ grows by
    exactly √C — and so does h (up to the column norms' rounding allowance)."""
    rng = np.random.default_rng(7)
    W1, w2 = rng.standard_normal((12, 3)), rng.standard_normal((1, 12))
    X = rng.standard_normal((7, 3))
    one = MlpNetwork(
        Structure((3, 12, 1), get_activation("relu"), "standard", 1.0, False, False),
        Params((W1, w2), None),
    )
    four = MlpNetwork(
        Structure((3, 12, 4), get_activation("relu"), "standard", 1.0, False, False),
        Params((W1, np.repeat(w2, 4, axis=0)), None),
    )
    h1, h4 = one.drift(X), four.drift(X)
    for rho in (1e-3, 1e-2, 0.1, 1.0):
        assert h4.h(rho) == pytest.approx(2.0 * h1.h(rho), rel=1e-14)
        assert h4.h(rho) >= 2.0 * h1.h(rho)


# ---- build, init files and memory plans ------------------------------------------------------


class _Ctx:
    def __init__(self, arrays):
        self.arrays = arrays

    def read_arrays(self, names, *, suffix_error, hint):
        return [self.arrays[n] for n in names]

    def error(self, message, *path):
        return ValueError(message)


def test_build_draws_the_single_output_network_first():
    """The output layer's C rows are drawn like its one row: every hidden layer and the first
    output row equal the C = 1 draws (so C = 1 draws exactly what it always did)."""
    ms = MlpSpec(architecture="mlp", widths=[6, 5], activation="gelu")
    one = build(ms, 4, np.random.default_rng(3), _Ctx({}))
    many = build(ms, 4, np.random.default_rng(3), _Ctx({}), outputs=4)
    assert one.outputs == 1 and many.outputs == 4
    for k in range(2):
        assert np.array_equal(one.params.W[k], many.params.W[k])
    assert many.params.W[2].shape == (4, 5) and np.array_equal(
        many.params.W[2][:1], one.params.W[2]
    )
    assert many.forward(np.ones((3, 4))).shape == (12,)
    # the report's problem line states C (n points × C outputs); the model's words do not repeat it
    assert "outputs" not in many.info().tail and many.info().tail == one.info().tail
    with pytest.raises(ValueError, match="outputs"):
        build(ms, 4, np.random.default_rng(3), _Ctx({}), outputs=0)


def test_init_file_takes_the_output_layer_with_c_rows():
    rng = np.random.default_rng(0)
    ms = MlpSpec(architecture="mlp", widths=[5], init="file", init_path="w.npz", bias=True)
    arrays = {
        "W1": rng.standard_normal((5, 3)),
        "W2": rng.standard_normal((3, 5)),
        "b1": np.zeros(5),
        "b2": np.zeros(3),
    }
    net = build(ms, 3, rng, _Ctx(arrays), outputs=3)
    assert np.array_equal(net.params.W[1], arrays["W2"]) and net.outputs == 3
    with pytest.raises(
        DataError,
        match=r"W2 must have shape \(2, 5\) \(the output layer has one row per output, C = 2",
    ):
        build(ms, 3, rng, _Ctx(arrays), outputs=2)
    with pytest.raises(DataError, match=r"b2 must have shape \(2,\)"):
        build(ms, 3, rng, _Ctx({**arrays, "W2": arrays["W2"][:2]}), outputs=2)


def test_plan_names_the_m_by_m_gram_and_counts_it():
    ms = MlpSpec(architecture="mlp", widths=[64, 64])
    one, text1 = plan_bytes(ms, 512, 8)
    ten, text10 = plan_bytes(ms, 512, 8, outputs=10)
    assert text1 == "widths [64, 64]"
    assert "C = 10 outputs" in text10 and "5,120 × 5,120" in text10 and "100 times" in text10
    assert ten > one
    net, _ref, X = make("tanh", (16, 16), 5, d=4, n=40)
    m = 40 * 5
    planned = net.peak_bytes("gram", 40)
    assert planned >= 8 * (2 * m * m + 40 * 40)
    net.gram(X)  # once before tracing: first-use imports and the proved ‖W‖_op are not the plan's
    tracemalloc.start()
    tracemalloc.reset_peak()
    net.gram(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= planned
    assert net.gram_flops(40) >= m * m
    assert net.cache_bytes(40) > make("tanh", (16, 16), 1, d=4, n=40)[0].cache_bytes(40)


# ------------------------------------------- (H2): a frozen output layer of rank < C


@pytest.mark.parametrize(("widths", "dependent"), [((5, 2), False), ((4, 6), True)])
@pytest.mark.parametrize("bias", [True, False])
def test_frozen_output_of_rank_below_c_is_an_obstruction(widths, dependent, bias):
    """A frozen output layer W_L (C × h) of rank < C (h < C, or a repeated row): each
    point's C rows of the dense J0 are dependent (Σ_c v_c ∇f_c = 0 for W_Lᵀv = 0), so
    σ_min(J0) = 0 to rounding, and ``obstruction`` names it with the rank; trained, the
    same output layer is no obstruction (its own gradient rows e_c ⊗ h are independent)."""
    C = 3
    net, ref, X = make("tanh", widths, C, d=4, n=2, bias=bias, train_output=False, seed=1)
    if dependent:
        net.params.W[-1][2] = net.params.W[-1][0]
        ref = TorchNet(net)
    m, P = X.shape[0] * C, net.n_params
    assert m <= P
    rank = int(np.linalg.matrix_rank(net.params.W[-1]))
    assert rank < C
    J = ref.jacobian(X)
    sv = np.linalg.svd(J, compute_uv=False)
    assert sv[m - 1] <= 8 * m * np.finfo(float).eps * sv[0]
    obstruction = net.obstruction(X)
    assert obstruction is not None
    assert (obstruction.code, obstruction.rank) == ("readout_rank", rank)
    trained = MlpNetwork(replace(net.structure, train_output=True), net.params)
    assert trained.obstruction(X) is None
    J_trained = TorchNet(trained).jacobian(X)
    assert np.linalg.svd(J_trained, compute_uv=False)[m - 1] > 1e-6


def test_frozen_output_rank_through_the_cli(spec_file, capsys):
    """`ntkcheck certify` on an mlp whose frozen output layer is narrower than C."""
    import json

    from ntkcheck.cli import main

    path = spec_file(
        "seed: 0\ngamma: 1.0\ndata: {n: 4, d: 6, outputs: 3, target: random}\n"
        "model: {architecture: mlp, widths: [8, 2], train_output: false}\n"
    )
    assert main(["certify", str(path), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)["results"][0]
    assert out["certificate"]["status"] == "not_applicable"
    assert out["certificate"]["message"] == (
        "(H2) fails: the model's 3 outputs are linearly dependent at every input (its fixed "
        "output weights have rank 2 < C = 3): each point's 3 rows of J0 are dependent, so "
        "σ_min = 0; train the output layer (model.train_output: true), or give it rank C "
        "(the last hidden width ≥ C and linearly independent rows)"
    )
    assert main(["certify", str(path)]) == 1
    text = capsys.readouterr().out
    assert "NOT APPLICABLE" in text and "linearly dependent" in text
