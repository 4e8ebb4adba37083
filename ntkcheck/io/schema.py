"""The spec's JSON Schema, for editors (yaml-language-server) and other tools.

It is generated from the pydantic models, so it says what the validator says
key by key: types, allowed values, bounds, no unknown keys. Rules between keys
(``n``/``d`` for synthetic data, ``path`` for files, even width for symmetric
pairs) are enforced by ``ntkcheck validate`` and stated in the descriptions.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__
from .spec import Spec

SCHEMA_ID = "https://ntkcheck.invalid/schema/spec-1.json"


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a spec file."""
    schema = Spec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"ntkcheck spec (ntkcheck {__version__})",
        "description": (
            "A problem spec for `ntkcheck certify` / `simulate`. Keys between blocks: "
            "data.n and data.d are required for source: synthetic, data.path for source: "
            "file; model.width is required unless init: file, and even for init: symmetric; "
            "model.architecture: mlp takes model.widths (always required) instead."
        ),
        **schema,
    }
