"""Disorder on purpose: duplicates, reordering and late redeliveries, as Toast's retries make them.

Pure and seeded: one :class:`Disorder` per process draws, for each delivery about to be created,
when its copies are due; the same seed and the same sequence of events give the same plan. It
is applied where deliveries are created (:meth:`dispatcher.service.DispatcherService.send_events`),
never in the engine: each copy is an ordinary delivery of the same event (same GUID, same bytes,
same signature) that the engine sends, retries and counts like any other.

- ``duplicate_rate``: the share of deliveries sent twice, the copy due up to
  ``duplicate_within`` seconds after the original (a consumer must treat one GUID as one event);
- ``reorder_window``: every delivery is due a random 0 to ``reorder_window`` seconds late, so
  events made within the window arrive in any order;
- ``late_rate``: the share of events delivered once more ``late_after`` seconds later (Toast's
  retries come 5 and 10 minutes on), by when newer updates of the same thing have arrived.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from dispatcher.settings import DisorderSettings

CopyKind = Literal["original", "reordered", "duplicate", "late"]


@dataclass(frozen=True)
class Copy:
    due_at: float
    kind: CopyKind


@dataclass
class Disorder:
    settings: DisorderSettings
    rng: random.Random = field(init=False)
    # (event moment, kind) of every copy that is not a plain original, for reports up to a moment
    made: list[tuple[float, CopyKind]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.settings.seed)

    def copies(self, at: float) -> list[Copy]:
        """When the deliveries of one event made at ``at`` to one subscription are due."""
        s, rng = self.settings, self.rng
        if not s.active:
            return [Copy(at, "original")]
        shift = rng.uniform(0.0, s.reorder_window) if s.reorder_window else 0.0
        made = [Copy(at + shift, "reordered" if shift else "original")]
        if s.duplicate_rate and rng.random() < s.duplicate_rate:
            made.append(Copy(at + shift + rng.uniform(0.0, s.duplicate_within), "duplicate"))
        if s.late_rate and rng.random() < s.late_rate:
            made.append(Copy(at + s.late_after, "late"))
        self.made += [(at, copy.kind) for copy in made if copy.kind != "original"]
        return made

    def counts(self, made_by: float | None = None) -> Counter[CopyKind]:
        """Copies of each kind for events made by ``made_by`` (all, when None)."""
        return Counter(kind for at, kind in self.made if made_by is None or at <= made_by)

    def summary(self, made_by: float | None = None) -> dict[str, Any]:
        """For reports: the options and how many copies of each kind were made (for events made
        by ``made_by``)."""
        s, counts = self.settings, self.counts(made_by)
        return {"seed": s.seed, "duplicateRate": s.duplicate_rate,
                "duplicateWithin": s.duplicate_within, "reorderWindow": s.reorder_window,
                "lateRate": s.late_rate, "lateAfter": s.late_after,
                "duplicates": counts["duplicate"], "reordered": counts["reordered"],
                "late": counts["late"]}
