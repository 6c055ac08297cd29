"""Property tests of the config loader: any file bytes, any TOML values, any HOOKSIM_* variable
give either Settings or one ConfigError naming the problem; never another exception. Each test
counts its own cases (none depends on another having run first)."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hooksim.config import ConfigError, load_settings
from hooksim.settings import Settings

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


def load(text: bytes | None = None, environ: dict[str, str] | None = None) -> bool:
    """Load; whether the loader refused (with a ConfigError that says why)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = None
        if text is not None:
            path = Path(tmp) / "config.toml"
            path.write_bytes(text)
        try:
            assert isinstance(load_settings(path, environ=environ or {}), Settings)
        except ConfigError as exc:
            assert str(exc).strip(), "a ConfigError must say what is wrong"
            return True
        return False


def report(name: str, counts: Counter[str], least: int) -> None:
    print(f"\nconfig loader property cases ({name}): {dict(counts)}")
    assert counts["cases"] >= least, counts


def test_arbitrary_bytes_as_a_config_file() -> None:
    counts: Counter[str] = Counter()

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=300))
    def check(data: bytes) -> None:
        counts["cases"] += 1
        counts["refused"] += load(data)

    check()
    report("bytes", counts, 100)


def test_arbitrary_values_for_real_keys() -> None:
    counts: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(st.sampled_from(KEYS), TOML_VALUES, max_size=4))
    def check(values: dict[str, str]) -> None:
        counts["cases"] += 1
        sections: dict[str, list[str]] = {}
        for key, value in values.items():
            section, name = key.split(".")
            sections.setdefault(section, []).append(f"{name} = {value}")
        text = "\n".join(f"[{s}]\n" + "\n".join(lines) for s, lines in sections.items())
        counts["refused"] += load(text.encode())

    check()
    report("toml", counts, 100)


def test_arbitrary_environment_overrides() -> None:
    counts: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(
        st.sampled_from([k.replace(".", "_").upper() for k in KEYS]).map("HOOKSIM_".__add__),
        st.text(max_size=40).filter(lambda t: "\x00" not in t), max_size=3))
    def check(environ: dict[str, str]) -> None:
        counts["cases"] += 1
        counts["refused"] += load(environ=environ)

    check()
    report("env", counts, 100)
