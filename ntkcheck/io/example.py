"""The built-in example: the lecture's two-layer network (README, "The spec").

``ntkcheck certify`` with no SPEC runs it; ``ntkcheck init`` writes it to a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import LoadedSpec

#: Written by `ntkcheck init` beside the spec; named in the spec's first line for editors.
SCHEMA_FILE = "ntkcheck.schema.json"

EXAMPLE_YAML = f"""\
# yaml-language-server: $schema=./{SCHEMA_FILE}
# ntkcheck problem spec — the lecture's two-layer network (THEORY.md §6).
# Is gradient flow on γ·f_θ lazy (NTK regime)?  Run: ntkcheck certify THIS_FILE
name: lecture-example        # optional; default: the file name
seed: 0                      # one seed drives data and initialization
gamma: 100.0                 # output scale γ: the trained model is γ·f_θ

data:
  source: synthetic          # synthetic | file
  n: 64                      # number of points
  d: 16                      # input dimension
  inputs: sphere             # gaussian (N(0, I_d)) | sphere (‖x‖ = √d)
  target: teacher            # teacher (random tanh neuron) | linear | sign | random
  noise: 0.0                 # std of Gaussian label noise (targets have unit RMS)
  normalize: none            # none | standardize | sphere
  # source: file  ->  path: train.npz (arrays X (n,d), y (n,)) or train.csv (last column is y)

model:
  architecture: two_layer    # f(x) = s·Σ_i a_i σ(⟨w_i, x⟩), a_i = ±1 fixed, W trained
  width: 4096                # N, the number of neurons
  activation: tanh           # identity tanh sigmoid softplus erf gelu silu sin cos elu
                             # quadratic (smooth) | relu leaky_relu abs (not certifiable)
  scaling: standard          # standard (s = 1) | ntk (s = 1/√N) | mean_field (s = 1/N)
  init: symmetric            # gaussian | symmetric (pairs ±a: f_θ0 ≡ 0) | file
  init_std: null             # std of the entries of W; null means 1/√d
  centered: false            # train γ(f_θ − f_θ0) so that L0 = ½‖y‖²
  # init: file  ->  init_path: w0.npz (arrays W (N,d), a (N,) with a_i = ±1)

certify:
  beta: analytic             # analytic (rigorous bound) | local (estimate, labelled so)

simulate:                    # used by `ntkcheck simulate`
  horizon: auto              # a time T, or auto: until the C1 bound reaches loss_tol·L0
  points: 50                 # reported at t_k = T·k/(points−1)
  loss_tol: 1.0e-8
"""


#: How the built-in example is named in reports and error messages.
BUILTIN = "<built-in example>"


def example_spec(overrides: dict[str, Any] | None = None) -> LoadedSpec:
    """The built-in example as a validated spec (paths resolve against the cwd)."""
    from .spec import parse_spec  # pydantic: not for the commands that only name the example

    return parse_spec(
        EXAMPLE_YAML,
        source=BUILTIN,
        base_dir=Path.cwd(),
        builtin=True,
        overrides=overrides,
    )
