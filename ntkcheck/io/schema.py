"""The spec's JSON Schema, for editors (yaml-language-server) and other tools.

It is generated from the pydantic models, so it says what the validator says
key by key: types, allowed values, bounds, no unknown keys. Rules between keys
(``n``/``d`` for synthetic data, ``path`` for files, each family's own) are enforced
by ``ntkcheck validate`` and stated in the description (a family's in its words).
"""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..models.registry import family_specs
from .spec_schema import Spec

SCHEMA_ID = "https://ntkcheck.invalid/schema/spec-1.json"


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a spec file."""
    schema = Spec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"ntkcheck spec (ntkcheck {__version__})",
        "description": "; ".join(
            [
                "A problem spec for `ntkcheck certify` / `simulate`. Keys between blocks: "
                "data.n and data.d are required for source: synthetic, data.path for source: "
                "file",
                *(f.schema_note for f in family_specs().values() if f.schema_note),
            ]
        )
        + ".",
        **schema,
    }
