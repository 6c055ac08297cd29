"""Toast's published specs as JSON Schemas for what the fallback APIs answer (skip without them)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.events.toast_schema import TOAST_API, nullable_schema


def definitions(spec: str) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    path = TOAST_API / spec
    if not path.exists():
        pytest.skip(f"Toast's API specification is not at {path} (HOOKSIM_TOAST_API_DIR)")
    return yaml.safe_load(path.read_text())["definitions"]


def validate(spec: str, root: str, value: Any) -> None:
    """``value`` is a ``root`` of ``spec`` (every property nullable, no unknown fields)."""
    jsonschema.validate(value, nullable_schema(definitions(spec), root))
