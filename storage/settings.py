"""Storage settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class StorageSettings:
    backend: Literal["sqlite"] = "sqlite"
    path: str = "hooksim.db"
    busy_timeout_ms: int = 5000
    synchronous: Literal["full", "normal"] = "full"
