"""Schema versions, tracked per component so each store owns its tables and migrations.

A component's migrations are an append-only list of SQL scripts: version N is the first N scripts.
Never edit a released script; add a new one. ``postgresql`` holds the same list written for
PostgreSQL (None: the component is not ported yet); version N means the same tables on both
backends, so the two lists always have the same length.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.errors import SchemaTooNew


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


def versions_to_apply(schema: Schema, current: int) -> range:
    """The versions ``schema`` still has to apply to a database at version ``current`` (on
    either backend); SchemaTooNew if that database was written by a newer hooksim."""
    if current > schema.version:
        raise SchemaTooNew(
            f"the database's {schema.component!r} schema is version {current}, newer than this "
            f"hooksim supports ({schema.version}); upgrade hooksim or use another database")
    return range(current + 1, schema.version + 1)


VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
)
"""
