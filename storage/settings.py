"""Storage settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class StorageSettings:
    backend: Literal["sqlite", "postgresql"] = "sqlite"
    path: str = "hooksim.db"
    # libpq connection string or URI for backend = "postgresql". It may hold a password, so it
    # is kept out of repr() and printed only through `where()`.
    dsn: str = field(default="", repr=False)
    busy_timeout_ms: int = 5000
    synchronous: Literal["full", "normal"] = "full"

    def where(self) -> str:
        """Where the data lives, fit to print: the file, or the DSN without its password."""
        return self.path if self.backend == "sqlite" else redact_dsn(self.dsn)


def redact_dsn(dsn: str) -> str:
    """``dsn`` in ``key=value`` form with any password replaced by ``***``. libpq parses it (URI
    or ``key=value``, spaces and quoting included), so no spelling of a password slips through."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(dsn)
    except ProgrammingError:
        return "(a DSN libpq cannot parse)"
    if "password" in params:
        params["password"] = "***"
    return make_conninfo(**params)
