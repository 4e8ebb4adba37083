"""The command line's names for the spec keys its flags set (error messages about an
override name the flag that set it)."""

from __future__ import annotations

from ..io.overrides import FlagNames

#: Command-line flags that set a spec key.
OVERRIDE_FLAGS = {
    "certify.theorem": "--theorem",
    "gamma": "--gamma",
    "seed": "--seed",
    "train.lr": "--lr",
    "train.steps": "--steps",
    "simulate.horizon": "--horizon",
    "simulate.points": "--points",
}
#: How the CLI names an override: its flag, else ``--set key``.
CLI_FLAG_NAMES = FlagNames(OVERRIDE_FLAGS, "--set {key}")
