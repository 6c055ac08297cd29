"""Schema versions, tracked per component so each store owns its tables and migrations.

A component's migrations are an append-only list of SQL scripts: version N is the first N scripts.
Never edit a released script; add a new one. ``postgresql`` holds the same list written for
PostgreSQL (None: the component is not ported yet); version N means the same tables on both
backends, so the two lists always have the same length.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    component: str
    migrations: tuple[str, ...]
    postgresql: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.postgresql is not None and len(self.postgresql) != len(self.migrations):
            raise ValueError(f"schema {self.component!r}: {len(self.migrations)} SQLite "
                             f"migrations but {len(self.postgresql)} PostgreSQL ones")

    @property
    def version(self) -> int:
        return len(self.migrations)


VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
)
"""
