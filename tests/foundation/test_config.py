"""Settings: config.toml, environment overrides, and one clear error per bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooksim.config import ConfigError, load_settings
from hooksim.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_shipped_config_states_every_default() -> None:
    """config.toml is documentation: it must match the code's defaults key for key."""
    assert load_settings(ROOT / "config.toml", environ={}) == Settings()


def test_postgresql_needs_a_dsn_which_settings_never_show(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="storage.dsn: required when storage.backend"):
        load_settings(environ={"HOOKSIM_STORAGE_BACKEND": "postgresql"})
    settings = load_settings(environ={"HOOKSIM_STORAGE_BACKEND": "postgresql",
                                      "HOOKSIM_STORAGE_DSN": "postgresql://u:pg-pw@db:5432/h"})
    assert settings.storage.dsn == "postgresql://u:pg-pw@db:5432/h"
    assert "pg-pw" not in repr(settings)
    assert settings.storage.where() == "user=u password=*** dbname=h host=db port=5432"
    with pytest.raises(ConfigError, match="storage.backend: expected one of"):
        load_settings(environ={"HOOKSIM_STORAGE_BACKEND": "mysql"})


def test_file_values_are_read_and_typed(tmp_path: Path) -> None:
    path = write(tmp_path, """
[server]
port = 9001
[dispatcher]
retry_delays = [1, 2.5]
[[receiver.endpoints]]
name = "orders"
secrets = ["a", "b"]
[receiver.endpoints.faults]
status = 503
failure_rate = 0.5
""")
    settings = load_settings(path, environ={})
    assert settings.server.port == 9001
    assert settings.dispatcher.retry_delays == (1.0, 2.5)
    endpoint = settings.receiver.endpoints[0]
    assert (endpoint.name, endpoint.secrets, endpoint.faults.status) == ("orders", ("a", "b"), 503)
    assert endpoint.faults.failure_rate == 0.5


def test_environment_overrides_single_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9001\n")
    settings = load_settings(path, environ={
        "HOOKSIM_SERVER_PORT": "9100", "HOOKSIM_LOG_FORMAT": "json",
        "HOOKSIM_BACKOFF_PRESET": "legacy", "HOOKSIM_SMTP_ENABLED": "true",
        "HOOKSIM_STORAGE_PATH": "/tmp/x.db", "HOOKSIM_DISPATCHER_RETRY_DELAYS": "[1, 2]",
        "OTHER": "ignored",
    })
    assert settings.server.port == 9100
    assert settings.log.format == "json"
    assert settings.backoff.preset == "legacy"
    assert settings.smtp.enabled is True
    assert settings.storage.path == "/tmp/x.db"
    assert settings.dispatcher.retry_delays == (1.0, 2.0)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[server]\nport = 'x'\n", {}, "server.port: expected an integer"),
        ("[server]\nport = 70000\n", {}, "server.port: expected a port number"),
        ("[server]\nprot = 1\n", {}, "unknown key server.prot"),
        ("[nope]\na = 1\n", {}, "unknown key nope"),
        ("[log]\nlevel = 'loud'\n", {}, "log.level: expected one of"),
        ("[dispatcher]\nretry_delays = 5\n", {}, "dispatcher.retry_delays: expected a list"),
        ("[dispatcher]\nretry_delays = [-1]\n", {}, "dispatcher.retry_delays: expected"),
        ("[smtp]\nenabled = 1\n", {}, "smtp.enabled: expected true or false"),
        ("[clock]\ntime_scale = 0\n", {}, "clock.time_scale: expected a number > 0"),
        ("", {"HOOKSIM_SERVER_GC_YOUNG_THRESHOLD": "-1"}, "server.gc_young_threshold: expected"),
        ("[[receiver.endpoints]]\nsecrets = []\n", {}, "receiver.endpoints[0].name: required"),
        ("[[receiver.endpoints]]\nname = 'a b'\n", {}, "receiver.endpoints[0].name"),
        # Non-ASCII letters and over-long names: the receiver would refuse them at run time.
        ("[[receiver.endpoints]]\nname = 'caf\u00e9'\n", {}, "receiver.endpoints[0].name"),
        (f"[[receiver.endpoints]]\nname = '{'a' * 101}'\n", {}, "receiver.endpoints[0].name"),
        ("server = 3\n", {}, "server: expected a table"),
        ("[server\n", {}, "is not valid TOML"),
        ("", {"HOOKSIM_SERVER_PORT": "eighty"}, "server.port: expected an integer"),
        ("", {"HOOKSIM_SERVER_PROT": "1"}, "unknown key server.prot"),
        ("", {"HOOKSIM_NOPE_X": "1"}, "no settings section matches"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, environ: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=environ)
    assert message in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_settings_are_immutable() -> None:
    settings = load_settings(None, environ={})
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]
