"""Toast's own orders API definitions (Swagger 2.0) as a JSON Schema for generated orders.

Read from Toast's published specification when it is present next to the project
(``../shared/spec/toast-api/orders.yaml``, or the folder in ``HOOKSIM_TOAST_API_DIR``); it is not
copied into the project, so tests that need it skip without it. Swagger 2.0 has no null, and
Toast's payloads use null for every absent value, so every property is read as nullable; a
required property must still be present. Objects are closed (``additionalProperties: false``)
after flattening ``allOf``, so a field the spec does not know fails too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOAST_API = Path(os.environ.get("HOOKSIM_TOAST_API_DIR") or ROOT.parent / "shared" / "spec" / "toast-api")


def orders_definitions() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    path = TOAST_API / "orders.yaml"
    if not path.exists():
        pytest.skip(f"Toast's orders API specification is not at {path} (HOOKSIM_TOAST_API_DIR)")
    return yaml.safe_load(path.read_text())["definitions"]


def nullable_schema(definitions: dict[str, Any], root: str) -> dict[str, Any]:
    """A Draft 7 schema for ``definitions[root]`` with every property nullable and closed objects."""

    def flatten(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        if "$ref" in schema:
            return flatten(definitions[schema["$ref"].rsplit("/", 1)[1]])
        properties = dict(schema.get("properties", {}))
        required = list(schema.get("required", []))
        for part in schema.get("allOf", []):
            more, needed = flatten(part)
            properties.update(more)
            required += needed
        return properties, required

    def convert(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return {"anyOf": [{"$ref": "#/definitions/" + schema["$ref"].rsplit("/", 1)[1]},
                              {"type": "null"}]}
        if "allOf" in schema or "properties" in schema:
            return {"anyOf": [closed(schema), {"type": "null"}]}
        kind = schema.get("type")
        out: dict[str, Any] = {}
        if kind is not None:
            out["type"] = [kind, "null"]
        if "enum" in schema:
            out["enum"] = [*schema["enum"], None]
        if kind == "array":
            out["items"] = convert(schema.get("items", {}))
        return out

    def closed(schema: dict[str, Any]) -> dict[str, Any]:
        properties, required = flatten(schema)
        return {"type": "object", "properties": {k: convert(v) for k, v in properties.items()},
                "required": sorted(set(required)), "additionalProperties": False}

    return {"$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {name: closed(schema) for name, schema in definitions.items()
                            if schema.get("type", "object") == "object"},
            "$ref": f"#/definitions/{root}"}
