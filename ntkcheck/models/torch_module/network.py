"""A PyTorch module as a ``Model`` (THEORY.md §10 "Any model (autodiff)", §14).

θ is every parameter with ``requires_grad``, flattened in ``named_parameters`` order;
the other parameters and the buffers are fixed; the module runs in eval mode. With C
outputs per input the m = n·C rows are stacked point-major (row ``j·C + c``).

- ``f``, ``J v``, ``Jᵀ r``: ``torch.func.functional_call`` under ``jvp`` / ``vjp``, by
  blocks of points (memory O(rows·activations), never O(n·activations) at once);
- ``K0 = J Jᵀ`` (m × m): per-sample Jacobian rows by ``vmap(jacrev)`` over blocks of
  points. When J (m × P) fits a quarter of the usable memory it is filled block by block
  and multiplied once; otherwise K is built tile by tile (``K_ab = J_a J_bᵀ``, the rows of
  J recomputed per tile): J is never held whole where it does not fit;
- no rounding analysis of K0 and no drift bound: ``gram_error`` is a labelled estimate and
  ``drift`` is none (``certify.beta`` is ``local``: §6's tensor norm by nested JVPs,
  ``local_beta.py``). Every certificate is an estimate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, jacrev, jvp, vmap

from ...errors import DataError
from ...linalg.memory import fits
from ...linalg.threads import threads_for
from ...theory.drift import Drift, NoDrift
from .. import protocol
from ..protocol import BetaSummary, GramError, LocalBeta, ModelInfo, Obstruction
from .autodiff import pullback
from .loader import call_factory, find_function, import_file

DTYPES = {"float64": torch.float64, "float32": torch.float32}
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
#: Transient memory one block of points may take (activations, Jacobian rows).
BLOCK_BYTES = 64 << 20
#: J (m × P) is formed whole only when four copies of it would fit the usable memory.
FULL_JACOBIAN_COPIES = 4
#: Columns per vmapped chunk of a batched jvp / vjp.
CHUNK = 16

#: nn modules whose derivative jumps (J is not Lipschitz: β_loc says nothing).
NONSMOOTH_MODULES = (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Hardshrink", "Softshrink", "Threshold", "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "FractionalMaxPool2d",
    "FractionalMaxPool3d", "LPPool1d", "LPPool2d", "CELU",
)  # fmt: skip
#: nn activation modules → the activation table's names (the report's ``activation``).
ACTIVATION_NAMES = {
    "Tanh": "tanh", "Sigmoid": "sigmoid", "Softplus": "softplus", "GELU": "gelu",
    "SiLU": "silu", "ELU": "elu", "ReLU": "relu", "LeakyReLU": "leaky_relu", "Mish": "mish",
    "Softsign": "softsign", "Tanhshrink": "tanhshrink", "LogSigmoid": "logsigmoid",
}  # fmt: skip


@dataclass(frozen=True)
class Source:
    """How the module was made, to make it again in another process (pickling):
    the factory file and function, its kwargs and the torch seed; None for a module
    given as an object (it pickles itself)."""

    path: str
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class Probe:
    """What one call of the module on two inputs showed: C and the bytes autograd saves
    per point (``per_point``) and in all (``fixed``, the weights' views among them)."""

    outputs: int
    per_point: int
    fixed: int


@contextmanager
def torch_threads(task: str, size: int) -> Iterator[None]:
    """torch's intra-op threads as ntkcheck sizes them (``linalg.threads.threads_for``):
    one thread for small products — beside other busy processes, two threads made the
    nested JVPs of specs/torch-cnn.yaml 5–10× slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads_for(task, size))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TorchModel:
    """A ``torch.nn.Module`` at θ0 (see the module docstring)."""

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        dtype: str = "float64",
        outputs: int = 1,
        input_shape: tuple[int, ...] | None = None,
        label: str = "the module",
        factory: str = "",
        source: Source | None = None,
    ) -> None:
        self._module = module
        self.dtype = dtype
        self._torch_dtype = DTYPES[dtype]
        self._outputs = outputs
        self.input_shape = input_shape
        self.label = label
        self.factory = factory
        self.source = source
        named = list(module.named_parameters())
        self._names = [k for k, p in named if p.requires_grad]
        self._shapes = [tuple(p.shape) for k, p in named if p.requires_grad]
        self._sizes = [int(p.numel()) for k, p in named if p.requires_grad]
        self._fixed: dict[str, torch.Tensor] = {
            k: p.detach() for k, p in named if not p.requires_grad
        }
        self._fixed.update({k: b.detach() for k, b in module.named_buffers()})
        parts = [p.detach().reshape(-1) for k, p in named if p.requires_grad]
        self._theta0 = torch.cat(parts).to(torch.float64).numpy().copy() if parts else np.zeros(0)
        self._theta0.setflags(write=False)
        self._probe: Probe | None = None
        kinds = {type(m).__name__ for m in module.modules()}
        self.nonsmooth = tuple(sorted(kinds & set(NONSMOOTH_MODULES)))
        names = sorted({ACTIVATION_NAMES[k] for k in kinds if k in ACTIVATION_NAMES})
        self.activation = "+".join(names) if names else "module"

    # ---- the protocol's plain values ---------------------------------------------------

    @property
    def n_params(self) -> int:
        return int(self._theta0.size)

    @property
    def outputs(self) -> int:
        """C, outputs per input: f_θ(X) has m = n·C entries stacked point-major (§14)."""
        return self._outputs

    @property
    def theta0(self) -> np.ndarray:
        return self._theta0

    @property
    def module(self) -> torch.nn.Module:
        """The module (eval mode, in the model's dtype; its own parameters are θ0)."""
        return self._module

    def info(self) -> ModelInfo:
        P = self.n_params
        summary: dict[str, int | float | str] = {
            "params": P,
            "activation": self.activation,
            "module": type(self._module).__name__,
            "factory": self.factory or "a module object",
            "dtype": self.dtype,
        }
        return ModelInfo(
            family="torch",
            params=P,
            activation=self.activation,
            summary=summary,
            heuristic_size=None,
            head=f"PyTorch module {type(self._module).__name__}"
            + (f" from {self.factory}" if self.factory else ""),
            tail=f"{self.dtype}, eval mode",
        )

    # ---- evaluation -----------------------------------------------------------------

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.tensor(np.asarray(a), dtype=self._torch_dtype)

    def inputs(self, X: np.ndarray) -> torch.Tensor:
        """X as the module's batch: (n, *input_shape) when given, else as it is."""
        x = self._tensor(X)
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            size = math.prod(self.input_shape)
            if math.prod(x.shape[1:]) != size:
                raise DataError(
                    f"{self.label}: an input has shape {tuple(x.shape[1:])} "
                    f"({math.prod(x.shape[1:])} values) but model.input_shape "
                    f"{list(self.input_shape)} has {size}; fix model.input_shape"
                )
            x = x.reshape(x.shape[0], *self.input_shape)
        return x

    def _params(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = torch.split(theta, self._sizes)
        out = {k: c.view(s) for k, c, s in zip(self._names, chunks, self._shapes, strict=True)}
        out.update(self._fixed)
        return out

    def apply(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f_θ`` on a batch: (b·C,), point-major (the module's (b,), (b, 1) or (b, C))."""
        out = functional_call(self._module, self._params(theta), (x,))
        return out.reshape(-1)

    def _single(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``f_θ(x)`` of one input (C,)."""
        return self.apply(theta, x.unsqueeze(0))

    def theta(self, theta: np.ndarray | None) -> torch.Tensor:
        if theta is None:
            return self._tensor(self._theta0)
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_params,):
            raise ValueError(f"θ must have shape ({self.n_params},), got {theta.shape}")
        return self._tensor(theta)

    def check_output(self, out: torch.Tensor, n: int) -> None:
        """The module maps (n, …) to (n,), (n, 1) or (n, C) with C the data's outputs."""
        shape = tuple(out.shape)
        if not shape or shape[0] != n or len(shape) > 2:
            raise DataError(
                f"{self.label}: the module maps {n} inputs to an output of shape {shape}; it "
                "must return (n,), (n, 1) or (n, C) for n inputs; fix the module's last layer"
            )
        returned = 1 if len(shape) == 1 else int(shape[1])
        if returned != self._outputs:
            raise DataError(
                f"{self.label}: the module returns {returned} outputs per input but the data "
                f"has {self._outputs} target{'s' if self._outputs > 1 else ''} per point; make "
                "the module's last layer match the targets"
            )

    def ensure_probe(self, x: torch.Tensor) -> Probe:
        """Check the module on the first inputs (once): output shape, determinism, batch
        independence, differentiability; and measure the bytes autograd saves per point."""
        if self._probe is not None:
            return self._probe
        n = int(x.shape[0])
        xb = x[: min(n, 2)]
        theta = self.theta(None)
        with torch.no_grad():
            try:
                out = functional_call(self._module, self._params(theta), (xb,))
            except Exception as exc:
                raise DataError(
                    f"{self.label}: the module raised {type(exc).__name__}: "
                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''} on "
                    f"inputs of shape {tuple(xb.shape)}; fix the module or model.input_shape"
                ) from None
            if not isinstance(out, torch.Tensor):
                raise DataError(
                    f"{self.label}: the module returned a {type(out).__name__}, not a tensor; "
                    "return the output tensor"
                )
            self.check_output(out, int(xb.shape[0]))
            # a random forward (dropout) can repeat an output by chance: with k entries and
            # eight re-evaluations a dropout-like mask goes unseen with probability ≤ 2^(−8k)
            agains = (functional_call(self._module, self._params(theta), (xb,)) for _ in range(8))
            if not all(torch.equal(out, again) for again in agains):
                raise DataError(
                    f"{self.label}: two evaluations at the same θ differ (dropout active in "
                    "eval mode, or randomness in forward): f_θ is not a function; remove it"
                )
            flat = out.reshape(-1)
            if xb.shape[0] > 1:
                alone = functional_call(self._module, self._params(theta), (xb[:1],))
                alone = alone.reshape(-1)
                scale = float(flat.abs().max()) + 1.0
                tol = 1e3 * UNIT_ROUNDOFF[self.dtype] * scale
                if float((alone - flat[: alone.numel()]).abs().max()) > tol:
                    raise DataError(
                        f"{self.label}: the output for one input depends on the other inputs "
                        "of the batch (batch statistics?): f_θ(x_j) is not defined point by "
                        "point; use running statistics (BatchNorm with track_running_stats)"
                    )
        self._probe = self._measure(xb, flat)
        return self._probe

    def _measure(self, xb: torch.Tensor, flat: torch.Tensor) -> Probe:
        """Differentiability (a vjp, nonzero) and the bytes saved for backward at 1 and 2
        points (per point: the difference)."""
        theta = self.theta(None)
        try:
            _, pull = pullback(lambda t: self.apply(t, xb), theta)
            (g,) = pull(torch.ones_like(flat))
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise DataError(
                f"{self.label}: torch.func cannot differentiate the module "
                f"({type(exc).__name__}: {first}); use differentiable operations "
                "(no .item(), .numpy() or in-place updates of parameters in forward)"
            ) from None
        if not bool(torch.any(g != 0)) and flat.numel() > 0:
            _, pull = pullback(lambda t: self.apply(t, xb), theta)
            probe_r = torch.linspace(1.0, 2.0, flat.numel(), dtype=self._torch_dtype)
            (g,) = pull(probe_r)
            if not bool(torch.any(g != 0)):
                raise DataError(
                    f"{self.label}: the output does not depend on the trainable parameters "
                    "(a .detach(), argmax or rounding in forward?): J = 0; make the output "
                    "differentiable in the parameters"
                )
        sizes = []
        for b in (1, 2):
            sizes.append(self._saved_bytes(xb[:1].expand(b, *xb.shape[1:]).contiguous()))
        per_point = max(sizes[1] - sizes[0], int(xb[:1].numel()) * self._itemsize, 1)
        fixed = max(sizes[0] - per_point, 0)
        C = flat.numel() // xb.shape[0]
        return Probe(outputs=int(C), per_point=int(per_point), fixed=int(fixed))

    def _saved_bytes(self, x: torch.Tensor) -> int:
        """Bytes of the distinct storages autograd saves for backward on the batch x."""
        seen: set[int] = set()
        total = 0

        def pack(t: torch.Tensor) -> torch.Tensor:
            nonlocal total
            storage = t.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += int(storage.nbytes())
            return t

        theta = self.theta(None).clone().requires_grad_(True)
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = self.apply(theta, x)
        return total + int(out.numel()) * self._itemsize

    @property
    def _itemsize(self) -> int:
        return 8 if self.dtype == "float64" else 4

    # ---- blocks of points -------------------------------------------------------------

    def _per_point(self) -> int:
        """Saved bytes per point (the probe's; before it, P values: a cautious guess)."""
        return self._probe.per_point if self._probe else self.n_params * self._itemsize

    def rows_per_block(self, n: int, copies: int = 1) -> int:
        """Points per block of a forward/jvp/vjp pass: ~``BLOCK_BYTES`` of activations
        (four times the saved bytes: the tangents and cotangents beside them), for
        ``copies`` products vmapped side by side."""
        return max(1, min(n, BLOCK_BYTES // max(4 * copies * self._per_point(), 1)))

    def jacobian_rows_per_block(self, n: int) -> int:
        """Points per block of Jacobian rows: each point's C rows of P values (twice: the
        vmapped gradients and their copy) and C backward passes' activations."""
        C, P = self._outputs, self.n_params
        per = C * (2 * P * self._itemsize + 3 * self._per_point()) + self._per_point()
        return max(1, min(n, BLOCK_BYTES // max(per, 1)))

    def blocks(self, n: int, rows: int) -> list[slice]:
        return [slice(a, min(a + rows, n)) for a in range(0, n, rows)]

    def full_jacobian(self, n: int) -> bool:
        """Whether J (m × P) is formed whole for the Gram (four copies fit the usable share)."""
        return fits(FULL_JACOBIAN_COPIES * n * self._outputs * self.n_params * self._itemsize)

    # ---- the protocol's operations ------------------------------------------------------

    def threads(self, task: str, n: int) -> Any:
        """``torch_threads`` for ``task`` on n points (``gram``: m²·P flops, else m·P)."""
        m = n * self._outputs
        size = m * m * self.n_params if task == "gram" else m * self.n_params
        return torch_threads(task, size)

    def forward(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        x = self.inputs(X)
        self.ensure_probe(x)
        t = self.theta(theta)
        n = int(x.shape[0])
        with torch.no_grad(), self.threads("rhs", n):
            parts = [self.apply(t, x[b]) for b in self.blocks(n, self.rows_per_block(n))]
        return torch.cat(parts).to(torch.float64).numpy()

    def linearize(self, X: np.ndarray, theta: np.ndarray | None = None) -> TorchLinearization:
        x = self.inputs(X)
        self.ensure_probe(x)
        return TorchLinearization(self, x, self.theta(theta))

    def jacobian_rows(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The rows of J at θ for the points x: (b·C, P), by ``vmap(jacrev)``."""
        J = vmap(jacrev(self._single), in_dims=(None, 0))(theta, x)
        return J.reshape(-1, self.n_params)

    def gram_of(
        self, x: torch.Tensor, theta: torch.Tensor, other: torch.Tensor | None
    ) -> np.ndarray:
        """``J Jᵀ`` (or ``(J − J_o)(J − J_o)ᵀ`` with ``other`` = θ_o), exactly symmetric."""
        n = int(x.shape[0])
        C = self._outputs
        blocks = self.blocks(n, self.jacobian_rows_per_block(n))

        def rows(b: slice) -> torch.Tensor:
            J = self.jacobian_rows(theta, x[b])
            return J if other is None else J - self.jacobian_rows(other, x[b])

        m = n * C
        if self.full_jacobian(n):
            J = torch.empty((m, self.n_params), dtype=self._torch_dtype)
            for b in blocks:
                J[b.start * C : b.stop * C] = rows(b)
            K = (J @ J.T).to(torch.float64).numpy()
            del J
        else:
            K = np.empty((m, m))
            for i, bi in enumerate(blocks):
                Ji = rows(bi)
                ri = slice(bi.start * C, bi.stop * C)
                K[ri, ri] = (Ji @ Ji.T).to(torch.float64).numpy()
                for bj in blocks[:i]:
                    rj = slice(bj.start * C, bj.stop * C)
                    K[rj, ri] = (rows(bj) @ Ji.T).to(torch.float64).numpy()
        upper = np.triu(K)
        upper += np.triu(K, 1).T
        return upper

    def gram(self, X: np.ndarray) -> np.ndarray:
        """K0 = J0 J0ᵀ (m × m) by blocks of Jacobian rows (never J whole where it does not fit)."""
        x = self.inputs(X)
        self.ensure_probe(x)
        with self.threads("gram", int(x.shape[0])):
            return self.gram_of(x, self.theta(None), None)

    def gram_error(self, X: np.ndarray, trace: float) -> GramError:
        """An estimate of ‖K̂0 − K0‖₂: the a-priori rounding of P-term sums, P·u·tr K̂0
        (J's own rounding through autograd is not analysed): labelled, never proved."""
        u = UNIT_ROUNDOFF[self.dtype]
        return GramError(max(self.n_params, 1) * u * trace, rigorous=False)

    def gram_operator(self, X: np.ndarray, *, cache: bool) -> Callable[[np.ndarray], np.ndarray]:
        """``v ↦ J0 (J0ᵀ v)`` by vjp then jvp, block by block (nothing cached)."""
        lin = self.linearize(X)
        return lambda v: lin.jvp(lin.vjp(v))

    def beta(self, X: np.ndarray) -> BetaSummary:
        """No analytic β for a model given as code (THEORY.md §10): ∞, no candidates."""
        return BetaSummary(math.inf, "none", {}, math.inf)

    def drift(self, X: np.ndarray) -> Drift:
        """No rigorous drift bound (THEORY.md §10, "Any model"): the local β stands in."""
        return NoDrift("model_given_as_code")

    def local_beta(self, X: np.ndarray, *, seed: int = 0) -> LocalBeta | None:
        """β_loc at θ0 by nested JVPs (``local_beta.py``); ∞ where a module's derivative
        jumps (ReLU, max-pooling, …: J is not Lipschitz and σ'' = 0 says nothing)."""
        from .local_beta import local_beta

        x = self.inputs(X)
        self.ensure_probe(x)
        if self.nonsmooth:
            return LocalBeta(
                value=math.inf,
                iterations=0,
                converged=False,
                restarts=0,
                spread=0.0,
                where=f"not Lipschitz: {', '.join(self.nonsmooth)}",
            )
        with self.threads("rhs", int(x.shape[0])):
            return local_beta(self, x, seed=seed)

    def obstruction(self, X: np.ndarray) -> Obstruction | None:
        return None

    # ---- memory ---------------------------------------------------------------------

    def _jacobian_block_bytes(self, n: int) -> int:
        rows = self.jacobian_rows_per_block(n)
        C, P, S = self._outputs, self.n_params, self._per_point()
        return rows * (C * (2 * P * self._itemsize + 3 * S) + S)

    def peak_bytes(self, task: str, n: int) -> int:
        """Planned peak bytes (the torch allocations included; a plan, not a proof):
        ``gram``: J whole when it fits (else two blocks of rows recomputed per tile), two
        blocks' workspace, K in the model's dtype and three m × m float64 arrays;
        ``matvec``: one block's activations (×4) and O(P + m) vectors; ``simulate``:
        three blocks, the integrator's 16 P-vectors and eight m × m arrays."""
        m, P, it = n * self._outputs, self.n_params, self._itemsize
        fixed = (self._probe.fixed if self._probe else 0) + 4 * P * it + (1 << 20)
        block = self._jacobian_block_bytes(n)
        rows = self.rows_per_block(n)
        if task == "gram":
            whole = m * P * it if self.full_jacobian(n) else block
            # two blocks of workspace: measured 463 MiB against 447 MiB planned with one
            # (benchmarks/bench_torch.py: n = 512, P = 94,935), 511 MiB with two
            return whole + 2 * block + m * m * (it + 3 * 8) + fixed
        if task == "matvec":
            return 4 * rows * self._per_point() + 8 * (4 * P + 100 * m) + fixed
        if task == "simulate":
            return 3 * 4 * rows * self._per_point() + 8 * (16 * P + 8 * m * m) + block + fixed
        raise ValueError(f"unknown task {task!r}")

    def cache_bytes(self, n: int) -> int:
        return 0

    def gram_flops(self, n: int) -> int:
        m = n * self._outputs
        return m * m * max(self.n_params, 1)

    # ---- pickling ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """θ0 and the fixed tensors as numpy arrays (what a rebuilt module is set to)."""
        return {
            "theta0": self._theta0.copy(),
            "fixed": {k: v.cpu().numpy().copy() for k, v in self._fixed.items()},
        }

    def __reduce__(self) -> tuple[Any, ...]:
        settings = {
            "dtype": self.dtype,
            "outputs": self._outputs,
            "input_shape": self.input_shape,
            "label": self.label,
            "factory": self.factory,
        }
        made = self.source if self.source is not None else self._module
        return (rebuild, (made, settings, self.state()))


class TorchLinearization:
    """``f_θ(X)`` and J_θ as operators (jvp / vjp by blocks of points), its Gram and the
    Gram of a Jacobian difference (by blocks of Jacobian rows)."""

    def __init__(self, model: TorchModel, x: torch.Tensor, theta: torch.Tensor) -> None:
        self.model = model
        self.x = x
        self.theta = theta
        n = int(x.shape[0])
        self._blocks = model.blocks(n, model.rows_per_block(n))
        self._pull: Any = None
        with torch.no_grad():
            if len(self._blocks) == 1:  # one block: keep its vjp (the forward pass's tape)
                out, self._pull = pullback(lambda t: model.apply(t, x), theta)
                self._f = out.detach()
            else:
                self._f = torch.cat([model.apply(theta, x[b]) for b in self._blocks])
        self._f_np = self._f.to(torch.float64).numpy()
        self._C = model.outputs

    @property
    def f(self) -> np.ndarray:
        return self._f_np

    def _rows(self, b: slice) -> slice:
        return slice(b.start * self._C, b.stop * self._C)

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v`` for v (P,) → (m,), or for v (P, k) → (m, k)."""
        model, theta = self.model, self.theta
        V = torch.as_tensor(np.asarray(v), dtype=theta.dtype)

        def one(t: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
            return jvp(lambda s: model.apply(s, xb), (theta,), (t,))[1]  # type: ignore[no-any-return]

        parts = []
        with model.threads("rhs", int(self.x.shape[0])):
            for b in self._blocks:
                xb = self.x[b]
                if V.ndim == 1:
                    parts.append(one(V, xb))
                else:
                    batched = vmap(one, in_dims=(1, None), out_dims=1, chunk_size=CHUNK)
                    parts.append(batched(V, xb))
        return torch.cat(parts).to(torch.float64).numpy()

    def vjp(self, r: np.ndarray) -> np.ndarray:
        """``Jᵀ r`` for r (m,) → (P,), or for r (m, k) → (P, k)."""
        model, theta = self.model, self.theta
        R = torch.as_tensor(np.asarray(r), dtype=theta.dtype)
        total: torch.Tensor | None = None
        with model.threads("rhs", int(self.x.shape[0])):
            for b in self._blocks:
                pull = self._pull
                if pull is None:
                    _, pull = pullback(functools.partial(model.apply, x=self.x[b]), theta)
                Rb = R[self._rows(b)]
                if R.ndim == 1:
                    (g,) = pull(Rb)
                else:
                    g = vmap(lambda c, pull=pull: pull(c)[0], in_dims=1, out_dims=1,
                             chunk_size=CHUNK)(Rb)  # fmt: skip
                total = g if total is None else total + g
        assert total is not None
        return total.to(torch.float64).numpy()

    def gram(self) -> np.ndarray:
        """``K = J Jᵀ`` (m × m)."""
        with self.model.threads("gram", int(self.x.shape[0])):
            return self.model.gram_of(self.x, self.theta, None)

    def drift_gram(self, other: protocol.Linearization) -> np.ndarray:
        """``(J − J_o)(J − J_o)ᵀ`` from the row blocks' differences (no cancellation of K's)."""
        if not isinstance(other, TorchLinearization) or other.model is not self.model:
            raise TypeError("drift_gram needs a linearization of the same torch model")
        with self.model.threads("gram", int(self.x.shape[0])):
            return self.model.gram_of(self.x, self.theta, other.theta)


def prepare(module: Any, dtype: str, label: str) -> torch.nn.Module:
    """The module in eval mode and ``dtype``; refused where f_θ(x) is not a function of θ
    and x alone (batch statistics) or where nothing is trained."""
    for name, sub in module.named_modules():
        norm = isinstance(sub, torch.nn.modules.batchnorm._BatchNorm)
        if norm and not sub.track_running_stats:
            where = f" ({name})" if name else ""
            raise DataError(
                f"{label}: {type(sub).__name__}{where} uses batch statistics even in eval mode "
                "(track_running_stats=False): f_θ(x_j) would depend on the other inputs; "
                "use running statistics or remove it"
            )
    module = module.to(device="cpu", dtype=DTYPES[dtype])
    module.eval()
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise DataError(
            f"{label}: the module has no trainable parameters (none with requires_grad); "
            "θ would be empty"
        )
    if any(not p.is_floating_point() for p in params):
        raise DataError(f"{label}: a trainable parameter is not a real floating-point tensor")
    return module


def rebuild(made: Any, settings: dict[str, Any], state: dict[str, Any]) -> TorchModel:
    """Unpickle: the module made again (the factory re-imported and called with the same
    seed, or the pickled module itself), set to the pickled θ0 and fixed tensors."""
    label = settings["label"]
    if isinstance(made, Source):
        path = Path(made.path)
        fn = find_function(import_file(path, label), made.name, path, label)
        module = call_factory(fn, made.kwargs, made.seed, label)
        module = prepare(module, settings["dtype"], label)
    else:
        module = made
    with torch.no_grad():
        theta = torch.as_tensor(state["theta0"])
        start = 0
        trained = [p for p in module.parameters() if p.requires_grad]
        for p in trained:
            size = p.numel()
            p.copy_(theta[start : start + size].view(p.shape))
            start += size
        fixed = dict(module.named_parameters())
        fixed.update(dict(module.named_buffers()))
        for key, value in state["fixed"].items():
            fixed[key].copy_(torch.as_tensor(value))
    return TorchModel(module, source=made if isinstance(made, Source) else None, **settings)
