"""How a spec is run beyond what the spec says: one value for the pipeline's choices."""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import SpectrumMethod


@dataclass(frozen=True)
class RunSettings:
    """``spectrum``: how σ_min, σ_max are computed (``auto`` | ``dense`` | ``iterative``,
    ``run.measure.measure_spectrum``); ``with_local_beta``: estimate β_loc beside the
    analytic bound; ``advise``: when not certified, search what would certify
    (``run.advice``). The theorem that decides is the spec's ``certify.theorem`` (and
    ``train.method``), which the CLI sets by override."""

    spectrum: str = SpectrumMethod.auto.value
    with_local_beta: bool = False
    advise: bool = True


DEFAULT = RunSettings()
