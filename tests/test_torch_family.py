"""The ``torch`` family (issue 20, THEORY.md §10 "Any model (autodiff): estimate only"):
σ_min, σ_max, L0 and β_loc of a small CNN against an independent torch.func computation
(the whole Jacobian and the per-row Hessians, float64, formed only here), simulate's loss
against an independent integration, several outputs, float32, and pickling."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.func import functional_call, hessian, jacrev  # noqa: E402

from ntkcheck.io.build import build_problem  # noqa: E402
from ntkcheck.io.code import allowing_code  # noqa: E402
from ntkcheck.io.loading import parse_spec  # noqa: E402
from ntkcheck.run.job import certify_spec, simulate_spec  # noqa: E402
from ntkcheck.run.measure import measure  # noqa: E402

NETS = """
import torch

def make_cnn(channels=2, side=8):
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, channels, 3, padding=1),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(channels * side * side, 1),
    )

def make_two_outputs(d=5, width=7):
    return torch.nn.Sequential(
        torch.nn.Linear(d, width), torch.nn.GELU(), torch.nn.Linear(width, 2), torch.nn.Tanh()
    )
"""

SPEC = """\
seed: 3
gamma: 50.0
data: {{source: file, path: images.npz}}
model:
  architecture: torch
  factory: nets.py:make_cnn
  kwargs: {{channels: 2}}
  input_shape: [1, 8, 8]
  centered: {centered}
simulate: {{points: 6}}
"""


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tiny synthetic 8×8 images (a bar and noise) and ±1 labels."""
    rng = np.random.default_rng(seed)
    X = 0.5 * rng.standard_normal((n, 1, 8, 8))
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    for j in range(n):
        k = 1 + j % 6
        X[j, 0, k, :] += y[j]
    return X, y


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "nets.py").write_text(NETS, encoding="utf-8")
    X, y = _images(10)
    np.savez(tmp_path / "images.npz", X=X.reshape(10, 64), y=y)
    for centered in (True, False):
        text = SPEC.format(centered=str(centered).lower())
        (tmp_path / f"cnn-{centered}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _loaded(folder: Path, centered: bool = False, **overrides: object):
    text = (folder / f"cnn-{centered}.yaml").read_text(encoding="utf-8")
    return parse_spec(text, source=str(folder / "cnn.yaml"), base_dir=folder, overrides=overrides)


def _dense(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """f, the whole Jacobian J (m × P) and the Hessians ∇²f_i (P × P) by torch.func on the
    module's parameters directly (float64): independent of the family's blocks and vmaps."""
    module = model.module
    names = [k for k, p in module.named_parameters() if p.requires_grad]
    params = {k: p.detach().clone() for k, p in module.named_parameters()}
    shapes = [params[k].shape for k in names]
    sizes = [params[k].numel() for k in names]
    theta0 = torch.cat([params[k].reshape(-1) for k in names])
    x = torch.tensor(X, dtype=torch.float64).reshape(X.shape[0], 1, 8, 8)

    def f(theta: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(theta, sizes)
        p = dict(params)
        p.update({k: c.view(s) for k, c, s in zip(names, chunks, shapes, strict=True)})
        return functional_call(module, p, (x,)).reshape(-1)

    J = jacrev(f)(theta0).numpy()
    H = hessian(f)(theta0).numpy()  # (m, P, P)
    return f(theta0).detach().numpy(), J, list(H)


def _beta_loc_dense(H: list[np.ndarray], starts: int = 12, seed: int = 5) -> float:
    """max_{‖q‖=1} ‖Σ_i q_i H_i‖_op by alternating maximization with dense eigensolves:
    u ← the eigenvector of A_q of largest |λ| (exact inner maximum), q ← T(u, ±u)/‖·‖."""
    rng = np.random.default_rng(seed)
    Hs = np.stack(H)
    best = 0.0
    for _ in range(starts):
        q = rng.standard_normal(Hs.shape[0])
        q /= np.linalg.norm(q)
        value = 0.0
        for _ in range(2000):
            lam, V = np.linalg.eigh(np.tensordot(q, Hs, axes=1))
            k = int(np.argmax(np.abs(lam)))
            u = V[:, k]
            T = np.einsum("a,iab,b->i", u, Hs, u) * np.sign(lam[k])
            new = float(np.linalg.norm(T))
            q = T / new
            if abs(new - value) <= 1e-15 * new:
                break
            value = new
        best = max(best, new)
    return best


def test_cnn_against_an_independent_torch_func_computation(folder: Path) -> None:
    """σ_min, σ_max (K0 by blocks of vmap(jacrev) rows vs the SVD of the whole Jacobian),
    L0 (f0 ≠ 0, not centered) and β_loc (nested JVPs vs dense Hessians) to 1e-8."""
    with allowing_code():
        loaded = _loaded(folder, centered=False)
        result = certify_spec(loaded)
        problem = build_problem(loaded)  # the same seed: the same weights
    est = result.estimate
    model, X = problem.model, problem.X
    f0, J, H = _dense(model, X)
    s = np.linalg.svd(J, compute_uv=False)
    assert est.sigma_max == pytest.approx(s[0], rel=1e-8)
    assert est.sigma_min == pytest.approx(s[-1], rel=1e-8)
    y = problem.y
    assert est.loss0 == pytest.approx(0.5 * float(np.sum((50.0 * f0 - y) ** 2)), rel=1e-10)
    assert est.beta_method == "local"
    assert est.beta == pytest.approx(_beta_loc_dense(H), rel=1e-8)
    cert = result.certificates[result.verdict.theorem]
    assert cert.rigorous is False  # an estimate: no rounding analysis, no drift bound
    info = model.info()
    assert info.family == "torch" and info.summary["dtype"] == "float64"
    assert info.params == J.shape[1] == 2 * 9 + 2 + 2 * 64 + 1


def test_four_dimensional_inputs_and_the_row_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """X of shape (n, 1, 8, 8) as it is; K0 from tiles of recomputed row blocks (J not
    fitting) equals K0 from J formed whole."""
    from ntkcheck.models.torch_module import network

    X, _ = _images(9, seed=2)
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(72, 1)
    )
    from ntkcheck.models.torch_module import from_module

    m = from_module(module)
    K_whole = m.gram(X)
    monkeypatch.setattr(network, "BLOCK_BYTES", 1)  # one point per block
    monkeypatch.setattr(network.TorchModel, "full_jacobian", lambda self, n: False)
    K_tiles = m.gram(X)
    np.testing.assert_allclose(K_tiles, K_whole, rtol=1e-13, atol=1e-13 * np.abs(K_whole).max())
    lin = m.linearize(X)
    v = np.random.default_rng(0).standard_normal(m.n_params)
    r = np.random.default_rng(1).standard_normal(9)
    assert float(lin.jvp(v) @ r) == pytest.approx(float(v @ lin.vjp(r)), rel=1e-12)


def test_several_outputs_rows_are_point_major() -> None:
    """C = 2: m = n·C rows, row j·C + c is output c of point j (docs/DESIGN.md); K0 = J Jᵀ
    of the module's own jacrev, rows in that order; a data with C = 1 is refused."""
    from ntkcheck.errors import DataError
    from ntkcheck.models.torch_module import from_module

    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    module = module.double()
    X = np.random.default_rng(3).standard_normal((4, 3))
    m = from_module(module, outputs=2, recognize=False)
    assert m.outputs == 2
    f = m.forward(X)
    out = module(torch.tensor(X)).detach().numpy()
    np.testing.assert_array_equal(f, out.reshape(-1))
    params = dict(module.named_parameters())
    J = torch.cat(
        [v.reshape(8, -1) for v in jacrev(
            lambda p: functional_call(module, p, (torch.tensor(X),)).reshape(-1)
        )({k: v.detach() for k, v in params.items()}).values()],
        dim=1,
    ).numpy()  # fmt: skip
    np.testing.assert_allclose(m.gram(X), J @ J.T, rtol=1e-12, atol=1e-14)
    with pytest.raises(DataError, match="returns 2 outputs per input but the data has 1"):
        from_module(module, recognize=False).forward(X)


def test_float32_is_stated_and_close_to_float64() -> None:
    from ntkcheck.models.torch_module import from_module

    torch.manual_seed(2)
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.SiLU(), torch.nn.Linear(5, 1))
    X = np.random.default_rng(4).standard_normal((4, 3))
    m64 = from_module(module, recognize=False)
    m32 = from_module(module, dtype="float32", recognize=False)
    assert m32.info().summary["dtype"] == "float32" and "float32" in m32.info().tail
    np.testing.assert_allclose(m32.gram(X), m64.gram(X), rtol=1e-5, atol=1e-6)
    e32 = m32.gram_error(X, 1.0)
    assert not e32.rigorous and e32.value > m64.gram_error(X, 1.0).value


@pytest.mark.slow
def test_simulate_matches_an_independent_integration(folder: Path) -> None:
    """The true flow θ' = −γ J_θᵀ r of the module, integrated by solve_ivp (DOP853, dense
    jacrev Jacobians): the reported loss at every checkpoint to 1e-5."""
    from scipy.integrate import solve_ivp

    with allowing_code():
        loaded = _loaded(folder, centered=True, gamma=20.0)
        result = simulate_spec(loaded)
        problem = build_problem(loaded)
    sim = result.simulation
    assert sim is not None and sim.status == "completed"
    model = problem.model
    module = model.module
    names = [k for k, p in module.named_parameters() if p.requires_grad]
    base = {k: p.detach().clone() for k, p in module.named_parameters()}
    sizes = [base[k].numel() for k in names]
    shapes = [base[k].shape for k in names]
    x = torch.tensor(problem.X, dtype=torch.float64).reshape(-1, 1, 8, 8)

    def f(theta: torch.Tensor) -> torch.Tensor:
        p = dict(base)
        p.update(
            {k: c.view(s) for k, c, s in zip(names, torch.split(theta, sizes), shapes, strict=True)}
        )
        return functional_call(module, p, (x,)).reshape(-1)

    theta0 = torch.cat([base[k].reshape(-1) for k in names])
    f0 = f(theta0).detach().numpy()
    gamma, y = 20.0, problem.y

    def rhs(_t: float, th: np.ndarray) -> np.ndarray:
        t = torch.tensor(th)
        r = gamma * (f(t).detach().numpy() - f0) - y
        return -gamma * jacrev(f)(t).numpy().T @ r

    ref = solve_ivp(rhs, (0, sim.t[-1]), theta0.numpy(), method="DOP853", t_eval=sim.t,
                    rtol=1e-11, atol=1e-13)  # fmt: skip
    assert ref.success
    for k in range(len(sim.t)):
        r = gamma * (f(torch.tensor(ref.y[:, k])).detach().numpy() - f0) - y
        loss = 0.5 * float(r @ r)
        if loss > 1e-8 * sim.loss[0]:
            assert sim.loss[k] == pytest.approx(loss, rel=1e-5)


def test_the_model_pickles_by_its_factory(folder: Path) -> None:
    """A worker process rebuilds the module from the factory file and the pickled θ0."""
    with allowing_code():
        problem = build_problem(_loaded(folder))
    model, X = problem.model, problem.X
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.forward(X), model.forward(X))
    assert copy.info() == model.info()


def test_relu_modules_make_beta_infinite() -> None:
    """σ' jumps (ReLU, max-pooling): β_loc says nothing, so it is ∞ and nothing certifies."""
    from ntkcheck.models.torch_module import from_module
    from ntkcheck.problem import Problem

    torch.manual_seed(3)
    module = torch.nn.Sequential(torch.nn.Linear(3, 40), torch.nn.ReLU(), torch.nn.Linear(40, 1))
    X = np.random.default_rng(5).standard_normal((4, 3))
    m = from_module(module, recognize=False)
    info = m.local_beta(X)
    assert info is not None and math.isinf(info.value) and "ReLU" in info.where
    problem = Problem("relu", "test", X, np.ones(4), "", m, "factory", True, m.forward(X), False)
    meas = measure(problem, beta="local")
    assert meas.drift.kind == "none"


def test_shaped_inputs_from_a_file_are_flat_rows_with_their_shape(tmp_path, capsys):
    """A .npz X of shape (n, 1, 8, 8) is loaded as flat rows (n, 64) and its shape is
    the torch block's default ``input_shape``: the same certificate as the bundled
    torch-cnn spec (X stored flat, ``input_shape: [1, 8, 8]``); other families refuse
    it in one line (exit 2)."""
    import json
    import shutil

    from ntkcheck.cli import main

    specs = Path(__file__).resolve().parent.parent / "specs"
    with np.load(specs / "data" / "bars8.npz") as z:
        X, y = z["X"], z["y"]
    np.savez(tmp_path / "images.npz", X=X.reshape(X.shape[0], 1, 8, 8), y=y)
    shutil.copy(specs / "models" / "cnn.py", tmp_path / "cnn.py")
    text = (specs / "torch-cnn.yaml").read_text(encoding="utf-8")
    text = text.replace("data/bars8.npz", "images.npz").replace("models/cnn.py", "cnn.py")
    text = "\n".join(line for line in text.splitlines() if "input_shape" not in line)
    (tmp_path / "shaped.yaml").write_text(text + "\n", encoding="utf-8")
    runs = []
    for path in (specs / "torch-cnn.yaml", tmp_path / "shaped.yaml"):
        assert main(["certify", str(path), "-f", "json", "--allow-code"]) == 0
        result = json.loads(capsys.readouterr().out)["results"][0]
        problem = {k: v for k, v in result["problem"].items() if k not in ("factory", "data")}
        runs.append((result["estimate"], result["certificate"], problem))
    assert runs[0] == runs[1]
    (tmp_path / "flat.yaml").write_text(
        "seed: 0\ngamma: 1.0\ndata: {source: file, path: images.npz}\nmodel: {width: 8}\n",
        encoding="utf-8",
    )
    assert main(["certify", str(tmp_path / "flat.yaml")]) == 2
    err = capsys.readouterr().err
    n = X.shape[0]
    assert f"X has shape ({n}, 1, 8, 8); the two_layer family takes 2-D inputs: flatten " \
        f"them to ({n}, 64)" in err  # fmt: skip
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
