"""The built-in example: the lecture's two-layer network (README, "The spec").

``ntkcheck certify`` with no SPEC runs it; ``ntkcheck init`` writes it to a file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loaded import LoadedSpec
    from .overrides import FlagNames

#: Written by `ntkcheck init` beside the spec; named in the spec's first line for editors.
SCHEMA_FILE = "ntkcheck.schema.json"

#: The built-in example's name (its reports say so); `init` names a written spec after its file.
EXAMPLE_NAME = "lecture-example"
#: The template's ``name:`` line, filled by :func:`example_yaml`.
_NAME_LINE = "{name_line}"
#: Column of the template's comments.
_COMMENT_COLUMN = 29
#: A name that YAML reads as itself, unquoted (and not as a number, bool or null).
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

_TEMPLATE = f"""\
# yaml-language-server: $schema=./{SCHEMA_FILE}
# ntkcheck problem spec — the lecture's two-layer network (THEORY.md §6).
# Is gradient flow on γ·f_θ lazy (NTK regime)?  Run: ntkcheck certify THIS_FILE
{_NAME_LINE}
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
  # source: sklearn -> name: digits (data scikit-learn ships; pip install "ntkcheck[datasets]")

model:
  architecture: two_layer    # f(x) = s·Σ_i a_i σ(⟨w_i, x⟩), a_i = ±1 fixed, W trained
  width: 4096                # N, the number of neurons
  activation: tanh           # identity tanh sigmoid softplus erf gelu silu sin cos elu
                             # quadratic (smooth) | relu leaky_relu abs (σ' jumps: certified
                             # through the activation-flip bound, THEORY.md §10)
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


def example_yaml(name: str | None = EXAMPLE_NAME) -> str:
    """The commented example spec, named ``name`` (``None``: no ``name:`` key, so a spec
    saved from it is named after its file). Names YAML would not read back as the same
    string are written quoted; names longer than the schema's 200 characters are left out."""
    if name is None or not 1 <= len(name) <= 200:
        line = "# name: my-problem".ljust(_COMMENT_COLUMN) + "# optional; default: the file name"
    else:
        plain = _PLAIN_NAME.fullmatch(name) and name.lower() not in _YAML_WORDS
        value = name if plain else json.dumps(name, ensure_ascii=False)
        line = f"name: {value}".ljust(_COMMENT_COLUMN - 1) + " # optional; default: the file name"
    return _TEMPLATE.replace(_NAME_LINE, line, 1)


#: Plain words YAML reads as something other than a string.
_YAML_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})

#: The built-in example (``ntkcheck certify`` with no SPEC; specs/lecture-example.yaml).
EXAMPLE_YAML = example_yaml()


#: How the built-in example is named in reports and error messages.
BUILTIN = "<built-in example>"


def example_spec(
    overrides: dict[str, Any] | None = None, *, flag_names: FlagNames | None = None
) -> LoadedSpec:
    """The built-in example as a validated spec (paths resolve against the cwd);
    ``flag_names``: how the caller names the overrides in errors (the CLI: its flags)."""
    from .loading import parse_spec  # pydantic: not for the commands that only name the example

    return parse_spec(
        EXAMPLE_YAML,
        source=BUILTIN,
        base_dir=Path.cwd(),
        builtin=True,
        overrides=overrides,
        flag_names=flag_names,
    )
