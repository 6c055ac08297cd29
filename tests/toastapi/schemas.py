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
    loaded = yaml.safe_load(path.read_text())
    return loaded.get("definitions") or loaded["components"]["schemas"]   # Swagger 2 or OpenAPI 3


def validate(spec: str, root: str, value: Any) -> None:
    """``value`` is a ``root`` of ``spec`` (every property nullable, no unknown fields)."""
    defined = definitions(spec)
    schema = nullable_schema(defined, root)
    for name, definition in defined.items():   # named scalars and arrays (menus: MultiLocationId)
        schema["definitions"].setdefault(name, _nullable(definition))
    jsonschema.validate(value, schema)


def _nullable(definition: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": [definition["type"], "null"]} if "type" in definition else {}
    if "enum" in definition:
        out["enum"] = [*definition["enum"], None]
    if "items" in definition:
        out["items"] = _nullable(definition["items"])
    return out
