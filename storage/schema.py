"""Schema versions, tracked per component so each store owns its tables and migrations.

A component's migrations are an append-only list of SQL scripts: version N is the first N scripts.
Never edit a released script; add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    component: str
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
)
"""
