"""Load settings from config.toml and HOOKSIM_<SECTION>_<KEY> environment variables.

Validation is driven by the dataclass annotations in :mod:`hooksim.settings`, so adding a setting
is adding a field. Every problem is a :class:`ConfigError` naming the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from hooksim.settings import Settings
from receiver.endpoints import NAME_RULE, valid_name

ENV_PREFIX = "HOOKSIM_"


class ConfigError(Exception):
    """A setting is missing, unknown, of the wrong type, or out of range."""


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Read ``path`` (if given), apply environment then ``overrides``, validate, return Settings."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_toml(Path(path))
    _apply_environment(raw, os.environ if environ is None else environ)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    settings = _build(Settings, raw, "")
    _check_ranges(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}): TOML files are UTF-8"
                          ) from None


def _section_fields() -> dict[str, dict[str, Any]]:
    """{section: {key: annotation}} for every section of Settings."""
    sections = {}
    for name, section_type in get_type_hints(Settings).items():
        sections[name] = get_type_hints(section_type)
    return sections


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    sections = _section_fields()
    for var, text in environ.items():
        if not var.startswith(ENV_PREFIX):
            continue
        rest = var[len(ENV_PREFIX) :].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(f"{var}: no settings section matches (known: {', '.join(sections)})")
        key = rest[len(section) + 1 :]
        if key not in sections[section]:
            raise ConfigError(f"{var}: unknown key {section}.{key}")
        raw.setdefault(section, {})[key] = _parse_env_value(text, sections[section][key])


def _parse_env_value(text: str, annotation: Any) -> Any:
    """Environment values are TOML values (``9000``, ``true``, ``[1, 2]``); bare text is a string."""
    if annotation is str or _literal_choices(annotation):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected a table, got {_kind(raw)}")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(f"unknown key {key} (known: {', '.join(sorted(known))})")
    values = {}
    for f in dataclasses.fields(cls):
        key = f"{where}.{f.name}" if where else f.name
        if f.name in raw:
            values[f.name] = _coerce(raw[f.name], hints[f.name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: required")
    return cls(**values)


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    origin = get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        return _build(annotation, value, key)
    if choices := _literal_choices(annotation):
        if value not in choices:
            raise ConfigError(f"{key}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
        return value
    if origin is tuple:
        item_type = get_args(annotation)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {_kind(value)}")
        return tuple(_coerce(item, item_type, f"{key}[{i}]") for i, item in enumerate(value))
    if origin in (Union, types.UnionType):
        raise TypeError(f"{key}: union settings are not supported")  # pragma: no cover
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_kind(value)} {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {_kind(value)} {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_kind(value)} {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {_kind(value)} {value!r}")
        return value
    raise TypeError(f"{key}: unsupported setting type {annotation!r}")  # pragma: no cover


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


# (section.key, predicate, what is expected) for values whose type alone is not enough.
_RANGES: tuple[tuple[str, typing.Callable[[Any], bool], str], ...] = (
    ("server.port", lambda v: 0 <= v <= 65535, "a port number 0-65535 (0 picks a free port)"),
    ("server.shutdown_timeout", lambda v: v >= 0, "a number of seconds >= 0"),
    ("server.gc_young_threshold", lambda v: v >= 0, "an integer >= 0 (0: Python's defaults)"),
    ("storage.busy_timeout_ms", lambda v: v >= 0, "milliseconds >= 0"),
    ("clock.time_scale", lambda v: v > 0, "a number > 0"),
    ("clock.origin", lambda v: v >= 0, "epoch seconds >= 0 (0: each process's start)"),
    ("dispatcher.connect_timeout", lambda v: v > 0, "seconds > 0"),
    ("dispatcher.read_timeout", lambda v: v > 0, "seconds > 0"),
    ("dispatcher.attempt_total_timeout", lambda v: v >= 0, "seconds >= 0 (0: no cap)"),
    ("dispatcher.connection_limit", lambda v: v >= 1, "an integer >= 1"),
    ("dispatcher.concurrency", lambda v: v >= 1, "an integer >= 1"),
    ("dispatcher.retry_delays", lambda v: all(d >= 0 for d in v), "a list of seconds >= 0"),
    ("dispatcher.availability_retry_delays", lambda v: all(d >= 0 for d in v),
     "a list of seconds >= 0"),
    ("dispatcher.poll_interval", lambda v: v > 0, "seconds > 0"),
    ("dispatcher.restaurants", lambda v: v >= 1, "an integer >= 1"),
    ("backoff.errors_to_pause", lambda v: v >= 0, "an integer >= 0 (0: from preset)"),
    ("backoff.error_window_seconds", lambda v: v >= 0, "seconds >= 0 (0: from preset)"),
    ("backoff.pause_seconds", lambda v: v >= 0, "seconds >= 0 (0: from preset)"),
    ("backoff.pauses_to_stop", lambda v: v >= 0, "an integer >= 0 (0: from preset)"),
    ("backoff.pause_window_seconds", lambda v: v >= 0, "seconds >= 0 (0: from preset)"),
    ("disorder.duplicate_rate", lambda v: 0 <= v <= 1, "a share 0-1"),
    ("disorder.duplicate_within", lambda v: v >= 0, "seconds >= 0"),
    ("disorder.reorder_window", lambda v: v >= 0, "seconds >= 0"),
    ("disorder.late_rate", lambda v: 0 <= v <= 1, "a share 0-1"),
    ("disorder.late_after", lambda v: v >= 0, "seconds >= 0"),
    ("demo.interval_seconds", lambda v: v > 0, "seconds > 0"),
    ("receiver.max_body_bytes", lambda v: v >= 1024, "bytes >= 1024"),
    ("receiver.max_messages", lambda v: v >= 0, "an integer >= 0 (0: unlimited)"),
    ("receiver.max_age_seconds", lambda v: v >= 0, "seconds >= 0 (0: unlimited)"),
    ("receiver.group_commit_max_batch", lambda v: v >= 1, "an integer >= 1"),
    ("smtp.port", lambda v: 1 <= v <= 65535, "a port number 1-65535"),
    ("smtp.timeout", lambda v: v > 0, "seconds > 0"),
    ("smtp.retry_interval", lambda v: v > 0, "seconds > 0"),
    ("smtp.max_attempts", lambda v: v >= 1, "an integer >= 1"),
    ("auth.token_ttl_seconds", lambda v: v >= 1, "seconds >= 1"),
    ("auth.login_attempts_per_minute", lambda v: v >= 1, "an integer >= 1"),
)


def _check_ranges(settings: Settings) -> None:
    for dotted, ok, expected in _RANGES:
        section, key = dotted.split(".")
        value = getattr(getattr(settings, section), key)
        if not ok(value):
            raise ConfigError(f"{dotted}: expected {expected}, got {value!r}")
    if settings.storage.backend == "postgresql" and not settings.storage.dsn:
        raise ConfigError('storage.dsn: required when storage.backend = "postgresql" '
                          "(e.g. postgresql://user@127.0.0.1/hooksim)")
    for i, endpoint in enumerate(settings.receiver.endpoints):
        where = f"receiver.endpoints[{i}]"
        if not valid_name(endpoint.name):   # the receiver's own rule, so it can serve the name
            raise ConfigError(f"{where}.name: expected {NAME_RULE}, got {endpoint.name!r}")
        if not 0.0 <= endpoint.faults.failure_rate <= 1.0:
            raise ConfigError(f"{where}.faults.failure_rate: expected a number 0-1")
        if endpoint.faults.status and not 100 <= endpoint.faults.status <= 599:
            raise ConfigError(f"{where}.faults.status: expected an HTTP status 100-599")
