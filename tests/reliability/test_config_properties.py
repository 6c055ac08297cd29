"""Property tests of the config loader: any file bytes, any TOML values, any HOOKSIM_* variable
give either Settings or one ConfigError naming the problem; never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hooksim.config import ConfigError, load_settings
from hooksim.settings import Settings

CASES = {"bytes": 0, "toml": 0, "env": 0, "refused": 0}
KEYS = ["server.port", "server.host", "server.read_timeout", "storage.path", "log.level",
        "clock.time_scale", "dispatcher.retry_delays", "dispatcher.concurrency",
        "backoff.preset", "receiver.max_body_bytes", "receiver.endpoints", "auth.token_ttl_seconds",
        "nosuch.key", "server.nosuch"]
TOML_VALUES = st.one_of(
    st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=False).map(repr),
    st.sampled_from(["true", "false", "nan", "inf", "-inf", "[]", "[1, \"a\"]", "{}",
                     "[[1]]", "1979-05-27T07:32:00Z", "'''x'''"]),
    st.text(max_size=30).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"')
                             .replace("\n", "\\n") + '"'))


def load(text: bytes | None = None, environ: dict[str, str] | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = None
        if text is not None:
            path = Path(tmp) / "config.toml"
            path.write_bytes(text)
        try:
            assert isinstance(load_settings(path, environ=environ or {}), Settings)
        except ConfigError as exc:
            assert str(exc).strip(), "a ConfigError must say what is wrong"
            CASES["refused"] += 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_a_config_file(data: bytes) -> None:
    CASES["bytes"] += 1
    load(data)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), TOML_VALUES, max_size=4))
def test_arbitrary_values_for_real_keys(values: dict[str, str]) -> None:
    CASES["toml"] += 1
    sections: dict[str, list[str]] = {}
    for key, value in values.items():
        section, name = key.split(".")
        sections.setdefault(section, []).append(f"{name} = {value}")
    text = "\n".join(f"[{s}]\n" + "\n".join(lines) for s, lines in sections.items())
    load(text.encode())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(
    st.sampled_from([k.replace(".", "_").upper() for k in KEYS]).map("HOOKSIM_".__add__),
    st.text(max_size=40).filter(lambda t: "\x00" not in t), max_size=3))
def test_arbitrary_environment_overrides(environ: dict[str, str]) -> None:
    CASES["env"] += 1
    load(environ=environ)


def test_zz_report_case_counts() -> None:
    print(f"\nconfig loader property cases: {CASES}")
    assert sum(CASES[k] for k in ("bytes", "toml", "env")) >= 100 or CASES == {
        "bytes": 0, "toml": 0, "env": 0, "refused": 0}   # run alone: nothing to report
