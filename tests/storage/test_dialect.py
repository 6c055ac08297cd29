"""storage.dialect: each backend's SQL differences in one object, and no store that compares a
backend's name itself."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from storage.dialect import POSTGRESQL, SQLITE
from storage.postgres import PostgresDatabase
from storage.sqlite import Database

STORAGE = Path(__file__).resolve().parents[2] / "storage"


def test_each_database_carries_its_dialect() -> None:
    assert (Database.dialect, PostgresDatabase.dialect) == (SQLITE, POSTGRESQL)
    assert (SQLITE.name, POSTGRESQL.name) == (Database.backend, PostgresDatabase.backend)


def test_one_writer_locks_nothing_and_many_lock_rows() -> None:
    assert SQLITE.skip_locked("d") == SQLITE.for_change == "" and SQLITE.key_locks is None
    assert POSTGRESQL.skip_locked("d") == " FOR UPDATE OF d SKIP LOCKED"
    assert POSTGRESQL.skip_locked() == " FOR UPDATE SKIP LOCKED"
    for dialect in (SQLITE, POSTGRESQL):
        empty = [f.name for f in dataclasses.fields(dialect)
                 if f.name not in ("for_change", "key_locks", "row_locks")
                 and not getattr(dialect, f.name)]
        assert not empty, (dialect.name, empty)


def test_no_store_compares_a_backend_name() -> None:
    """Only the dialects (and the settings' choice of backend) name one."""
    allowed = {"dialect.py", "backends.py", "settings.py"}   # settings: the user's choice
    offenders = [f"{path.name}:{number}" for path in sorted(STORAGE.glob("*.py"))
                 if path.name not in allowed
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                  if re.search(r"""["'](postgresql|sqlite)["']\s*:|backend\s*[!=]=""", line)]
    assert not offenders, offenders
