"""What the engine tells once a unit of work has committed: log lines, and the observers
(metrics, the owner's notifications, the portal) through the hooks the application gives it.

Nothing here runs inside a transaction: a hook only ever hears of what is already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from dispatcher.http import Response
from dispatcher.policy import DeliveryStatus
from dispatcher.transitions import TransitionHook, tell
from dispatcher.unit_of_work import AttemptResult, BatchOutcome, log_recorded
from storage.deliveries import DeliveryRecord

log = structlog.get_logger("hooksim.dispatcher")

# Called after every attempt's HTTP exchange, before it is recorded (e.g. live load-test counters).
AttemptHook = Callable[[DeliveryRecord, int, Response], None]
# Told once a batch has committed that ``count`` deliveries of a category reached a status: an
# attempt's SUCCESS, PENDING (a retry is scheduled) or FAILURE, or NOT_SENT (metrics).
StatusHook = Callable[[str, str, int], None]


@dataclass(frozen=True)
class Observers:
    on_transition: TransitionHook | None = None
    on_committed: Callable[[], None] | None = None
    on_attempt: AttemptHook | None = None
    on_status: StatusHook | None = None

    def attempted(self, delivery: DeliveryRecord, number: int, response: Response) -> None:
        if self.on_attempt is not None:
            self.on_attempt(delivery, number, response)

    def recorded(self, results: list[AttemptResult], statuses: list[str]) -> None:
        """After a recording batch's commit: its log lines, each attempt's new status."""
        log_recorded(results, statuses)
        if self.on_status is not None:
            for result, status in zip(results, statuses):
                self.on_status(result.delivery.category, status, 1)

    async def committed(self, committed: BatchOutcome) -> None:
        """After any batch's commit: log what it suppressed and its back-off transitions, tell
        the observers."""
        for delivery, status in committed.not_sent:
            log.info("delivery.not_sent", webhook_guid=delivery.webhook_guid,
                     subscription=delivery.subscription_guid, status=status)
        if committed.not_sent_later:
            log.info("delivery.not_sent_in_pause", deliveries=committed.not_sent_later)
        if self.on_status is not None:
            for delivery, _ in committed.not_sent:
                self.on_status(delivery.category, DeliveryStatus.NOT_SENT, 1)
            for category, count in committed.not_sent_later_by.items():
                self.on_status(category, DeliveryStatus.NOT_SENT, count)
        for record, transition in committed.transitions:
            log.info(f"backoff.{transition.kind.value.lower()}", subscription=record.guid,
                     at=transition.at, errors_in_window=transition.errors_in_window,
                     pauses_in_window=transition.pauses_in_window, reason=transition.reason)
            await tell(self.on_transition, record, [transition])
        if committed.transitions and self.on_committed is not None:
            self.on_committed()
