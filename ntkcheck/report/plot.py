"""``--plot FILE``: the simulation's curves with matplotlib (optional extra ``ntkcheck[plot]``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import NtkcheckError
from ..io.output import figure_metadata
from ..run.result import CertifyResult
from ..theory.guarantees import bound_curves

if TYPE_CHECKING:
    from ..flow.gd import GdSimulation

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_target(path: Path) -> None:
    """Fail early (before simulating) on a bad suffix or a missing matplotlib."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise NtkcheckError(
            f"--plot {path}: the format is taken from the extension; use .png, .svg or .pdf"
        )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise NtkcheckError(
            '--plot needs matplotlib, an optional extra: pip install "ntkcheck[plot]"'
        ) from None


def _figure(plt: Any, sim: Any) -> tuple[Any, Any]:
    """A 2×2 grid of panels, 2×3 with class labels (the accuracy panels on the right)."""
    classes = sim.accuracy is not None
    return plt.subplots(
        2, 3 if classes else 2, figsize=(16 if classes else 11, 7.5), constrained_layout=True
    )


def _class_panels(ax: Any, x: np.ndarray, sim: Any, xlabel: str) -> None:
    """With class labels (``flow.classes``): the training accuracy of the network and of
    its linearization, and the fraction of points where their predicted classes agree."""
    if sim.accuracy is None:
        return
    a = ax[0, 2]
    a.plot(x, sim.accuracy, label="network")
    a.plot(x, sim.accuracy_linear, "--", label="linearized")
    a.set_ylim(-0.02, 1.02)
    a.set_title("training accuracy")
    a.set_xlabel(xlabel)
    a.legend()
    a = ax[1, 2]
    a.plot(x, sim.agreement, color="C2", label="same predicted class")
    a.set_ylim(-0.02, 1.02)
    a.set_title("prediction agreement (network vs linearized)")
    a.set_xlabel(xlabel)
    a.legend()


def plot_simulation(r: CertifyResult, path: Path) -> None:
    """Four panels: losses vs C1/C4 bounds (log), ‖θ_t − θ0‖ vs R and B, gap vs D, kernel
    change; with class labels two more: the training accuracies and the agreement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = r.simulation
    assert sim is not None
    from ..flow import gd

    if isinstance(sim, gd.GdSimulation):
        _plot_gd(r, sim, path, plt)
        return
    g = r.certificate.guarantees
    t = sim.t
    fig, ax = _figure(plt, sim)
    a = ax[0, 0]
    a.semilogy(t, sim.loss, label="loss L(θ_t)")
    a.semilogy(t, sim.loss_lin, "--", label="linearized L̃(t)")
    curves = bound_curves(g, t) if g is not None else None
    if curves is not None:
        a.semilogy(t, curves.loss, ":", label="C1 bound")
        a.semilogy(t, curves.loss_lin, ":", label="C4 bound")
    a.axhline(0.5 * sim.error_floor**2, ls="--", color="gray", label="error floor ½δ²")
    a.set_title("loss")
    a.set_xlabel("t")
    a.legend()
    a = ax[0, 1]
    a.plot(t, sim.param_dist, label="‖θ_t − θ0‖")
    a.plot(t, sim.param_dist_lin, "--", label="‖θ̃_t − θ0‖")
    if g is not None:
        a.axhline(g.radius_R, ls=":", color="C2", label=f"R = {g.radius_R:.3g}")
        if np.isfinite(g.radius_B):
            a.axhline(g.radius_B, ls=":", color="C3", label=f"B = {g.radius_B:.3g}")
        a.set_yscale("log")
    a.set_title("parameter distance")
    a.set_xlabel("t")
    a.legend()
    a = ax[1, 0]
    a.semilogy(t[1:], np.maximum(sim.gap[1:], 1e-300), label="gap ‖r_t − r̃_t‖")
    a.axhline(sim.error_floor, ls="--", color="gray", label="integrator error floor")
    if curves is not None:
        a.semilogy(t, curves.gap, ":", label="C5 bound")
    a.set_title("linearization gap")
    a.set_xlabel("t")
    a.legend()
    a = ax[1, 1]
    a.plot(t, sim.kernel_change, label="‖K_t − K0‖_F / ‖K0‖_F")
    a.plot(t, sim.weight_change, label="‖θ_t − θ0‖ / ‖θ0‖")
    a.set_title("laziness")
    a.set_xlabel("t")
    a.legend()
    _class_panels(ax, t, sim, "t")
    fig.suptitle(f"ntkcheck simulate · {r.name} · γ = {r.certificate.gamma:g}")
    fig.savefig(path, metadata=figure_metadata(path))  # recognised as ntkcheck's own
    plt.close(fig)


def _plot_gd(r: CertifyResult, sim: GdSimulation, path: Path, plt: Any) -> None:
    """Gradient descent (THEORY.md §13): loss against step with the G1 rate line and the
    linearized GD, ‖θ_k − θ0‖ and the path length against R_gd, ‖r_k − s_k‖ against G5,
    and the laziness measures."""
    g = r.gd.guarantees if r.gd is not None else None
    k = sim.step.astype(float)
    fig, ax = _figure(plt, sim)
    a = ax[0, 0]
    a.semilogy(k, sim.loss, label="loss ½‖r_k‖²")
    a.semilogy(k, sim.loss_lin, "--", label="linearized GD ½‖s_k‖²")
    if g is not None:
        a.semilogy(k, [g.loss_bound(int(x)) for x in sim.step], ":", label="G1: L0·rate^k")
    a.axhline(0.5 * sim.error_floor**2, ls="--", color="gray", label="rounding floor ½δ²")
    a.set_title("loss")
    a.set_xlabel("step k")
    a.legend()
    a = ax[0, 1]
    a.plot(k, sim.param_dist, label="‖θ_k − θ0‖")
    a.plot(k, sim.path_length, label="path length Σ‖Δ_j‖")
    a.plot(k, sim.param_dist_lin, "--", label="linearized ‖θ̃_k − θ0‖")
    if g is not None:
        a.axhline(g.radius_gd, ls=":", color="C3", label=f"R_gd = {g.radius_gd:.3g}")
    a.set_title("parameter distance")
    a.set_xlabel("step k")
    a.legend()
    a = ax[1, 0]
    a.semilogy(k[1:], np.maximum(sim.gap[1:], 1e-300), label="‖r_k − s_k‖")
    if g is not None:
        bound = [g.deviation_bound(int(x)) for x in sim.step[1:]]
        a.semilogy(k[1:], np.maximum(bound, 1e-300), ":", label="G5 bound")
    a.axhline(sim.error_floor, ls="--", color="gray", label="rounding floor")
    a.set_title("distance to GD on the linearized network")
    a.set_xlabel("step k")
    a.legend()
    a = ax[1, 1]
    a.plot(k, sim.kernel_change, label="‖K_k − K0‖_F / ‖K0‖_F")
    a.plot(k, sim.weight_change, label="‖θ_k − θ0‖ / ‖θ0‖")
    a.set_title("laziness")
    a.set_xlabel("step k")
    a.legend()
    _class_panels(ax, k, sim, "step k")
    lr = r.gd.lr if r.gd is not None else float("nan")
    fig.suptitle(f"ntkcheck simulate · {r.name} · γ = {sim.gamma:g} · lr = {lr:g} (GD)")
    fig.savefig(path, metadata=figure_metadata(path))  # recognised as ntkcheck's own
    plt.close(fig)
