"""The delivery engine: the async pool that runs the unit of work (:mod:`dispatcher.unit_of_work`:
claim due deliveries, gate them by back-off, record results) and sends what it claimed; results
go to the recorder (:mod:`dispatcher.recorder`), what each committed batch decided to the
observers (:mod:`dispatcher.observers`).

It only executes decisions made by pure code (:mod:`dispatcher.policy`, :mod:`dispatcher.backoff`).
Time comes from the injected clock, so tests drive minutes of platform time with :meth:`step` and
a fake clock. The engine tells the clock what it does: a claimed attempt holds platform time until
its result is recorded, and its HTTP exchange is a flight (on the platform clock, real time counts
only then, so compressing time never changes a decision).

Each claim and each recording batch is one transaction (:meth:`DeliveryStore.batch` running a
:class:`~dispatcher.unit_of_work.DeliveryWork`, whole on the database thread): the attempts, the
deliveries' new statuses, the back-off states, their transitions and the notifications those
cause exist together or not at all. It is logged and told once it has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from functools import partial

import structlog

from dispatcher.backoff import BackoffRules
from dispatcher.clock import Clock, Wakeup
from dispatcher.headers import request_headers
from dispatcher.http import HttpSender
from dispatcher.observers import AttemptHook, Observers, StatusHook
from dispatcher.recorder import ResultRecorder
from dispatcher.settings import DispatcherSettings
from dispatcher.transitions import Notify, TransitionHook
from dispatcher.unit_of_work import AttemptResult, BatchOutcome, DeliveryWork
from storage.deliveries import DeliveryRecord, DeliveryStore

log = structlog.get_logger("hooksim.dispatcher")


class DeliveryEngine:
    def __init__(
        self,
        deliveries: DeliveryStore,
        sender: HttpSender,
        clock: Clock,
        settings: DispatcherSettings,
        rules: BackoffRules,
        *,
        notify: Notify | None = None,
        on_transition: TransitionHook | None = None,
        on_committed: Callable[[], None] | None = None,
        on_attempt: AttemptHook | None = None,
        on_status: StatusHook | None = None,
    ) -> None:
        self._store = deliveries
        self._observers = Observers(on_transition, on_committed, on_attempt, on_status)
        self._sender = sender
        self._clock = clock
        self._settings = settings
        self._work = DeliveryWork(settings, rules, notify, lambda: self.lease_seconds)
        # A fixed pool of ``concurrency`` senders takes claimed deliveries from a queue (a task
        # per attempt cost more); a slot stays taken while its delivery waits in the queue.
        self._queue: asyncio.Queue[DeliveryRecord] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []
        self._sending = 0                # taken from the queue, not yet answered
        self._unrecorded = 0             # attempts started whose result is not yet committed
        self._all_recorded = asyncio.Event()
        self._all_recorded.set()
        self._wake = Wakeup()
        self._recorder = ResultRecorder(self._record, settings=settings,
                                        in_flight=lambda: self._unrecorded,
                                        recorded=self._free_slots, failed=self._wake.set)
        self._loop_task: asyncio.Task[None] | None = None
        self._next_due: float | None = None   # as the last claim saw it
        self._reserved = 0     # free slots a claim in progress may fill
        self._refill = True    # recording batches also claim the slots they free (not in stop())
        self.busy_since: float | None = None   # wall (monotonic) start of the loop's pass; None parked

    @property
    def lease_seconds(self) -> float:
        """Platform seconds an attempt may be in flight before another worker may take it over."""
        wall = self._settings.connect_timeout + 2 * self._settings.read_timeout + 5.0
        return self._clock.span(wall)

    def wake(self) -> None:
        """Something new is due (an event was created, a delivery replayed)."""
        self._wake.set()

    async def step(self) -> int:
        """One pass at the clock's current time: end pauses, claim due deliveries, send them.

        Returns how many attempts were started. They run in the background; :meth:`drain`
        waits for them and for their results to be recorded (recording also claims what is
        due for the slots it frees, so a steady flow needs one transaction per batch).
        """
        self._ensure_recorder()
        self._wake.clear()   # a wake-up from now on asks for another pass: nothing is missed
        with self._clock.holding():   # the claim is instant in platform time
            now = self._clock.now()
            committed = await self._run_batch(now)
            self._next_due = committed.next_due
            await self._observers.committed(committed)
        return len(committed.to_send)

    async def _run_batch(self, now: float, *, results: list[AttemptResult] | None = None,
                         claim: bool = True) -> BatchOutcome:
        """Run the unit of work as one batch that records ``results`` and, unless ``claim`` is
        false (stopping), claims the free slots; then start what it claimed.

        A slot is taken from the claim until the attempt's result is recorded (``results`` free
        theirs). Slots are reserved while the batch runs, so a claim and a recording batch
        running one after the other never exceed ``concurrency`` between them.
        """
        taken = self._unrecorded - len(results or ()) + self._reserved
        free = max(0, self._settings.concurrency - taken) if claim else 0
        self._reserved += free
        try:
            committed = await self._store.batch(partial(self._work, now=now, free=free,
                                                        results=results))
        finally:
            self._reserved -= free
        if committed.to_send:
            self._clock.hold(len(committed.to_send))   # released once recorded
            self._unrecorded += len(committed.to_send)
            self._all_recorded.clear()
            for delivery in committed.to_send:
                self._queue.put_nowait(delivery)
        return committed

    async def _send_forever(self) -> None:
        """One of the pool's senders: each claimed delivery in turn."""
        while True:
            delivery = await self._queue.get()
            self._sending += 1
            try:
                await self._attempt(delivery)
            except asyncio.CancelledError:   # stop(): no result will come
                self._free_slots(1)
                raise
            except Exception:
                # Not recorded: still PENDING with a lease, so it is sent again after the lease.
                log.exception("dispatcher.attempt_failed", webhook_guid=delivery.webhook_guid)
                self._free_slots(1)
            finally:
                self._sending -= 1

    def _free_slots(self, attempts: int) -> None:
        """Attempts that hold no slot any more: recorded, or never to be."""
        self._unrecorded -= attempts
        self._clock.release(attempts)
        if self._unrecorded == 0:
            self._all_recorded.set()

    async def _attempt(self, delivery: DeliveryRecord) -> None:
        number = delivery.attempts + 1
        with self._clock.flight():
            started = self._clock.now()
            response = await self._sender.send(
                delivery.url, delivery.body, request_headers(delivery, number, self._settings))
        self._observers.attempted(delivery, number, response)
        self._recorder.add(AttemptResult(delivery, number, started, self._clock.now(), response))

    def _ensure_recorder(self) -> None:
        """Start the recorder and the senders (again, after :meth:`stop`)."""
        self._recorder.ensure_running()
        self._senders = [task for task in self._senders if not task.done()]
        while len(self._senders) < max(1, self._settings.concurrency):
            self._senders.append(asyncio.create_task(self._send_forever()))

    async def _record(self, batch: list[AttemptResult]) -> None:
        batch.sort(key=lambda r: r.finished_at)
        committed = await self._run_batch(self._clock.now(), results=batch, claim=self._refill)
        if committed.next_due != self._next_due:
            # A retry or a pause may now be the next thing due: the loop sleeps until then.
            self._next_due = committed.next_due
            self._wake.set()
        self._observers.recorded(batch, committed.statuses)
        await self._observers.committed(committed)

    async def drain(self) -> None:
        """Wait until every attempt started so far has finished and its result is committed."""
        self._ensure_recorder()
        await self._all_recorded.wait()

    async def _wait_for_work(self) -> None:
        """Sleep until the next thing is due (as the last claim saw it), a wake-up since that
        claim began, or the poll interval, whichever is first."""
        # Every slot taken: the recording batches claim what is due as they free slots.
        full = self._unrecorded >= self._settings.concurrency
        await self._clock.wait(self._wake, None if full else self._next_due,
                               poll=self._settings.poll_interval)

    async def run(self) -> None:
        """Deliver until cancelled. Storage trouble is logged and retried, never fatal."""
        while True:
            try:
                self.busy_since = time.monotonic()
                await self.step()
                self.busy_since = None
                await self._wait_for_work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher.loop_error")
                await asyncio.sleep(self._settings.poll_interval)

    async def start(self) -> None:
        self._refill = True
        released = await self._store.release_claims()
        if released:
            log.warning("dispatcher.recovered", in_flight_at_last_stop=released,
                        detail="attempts cut off by the last stop will be sent again")
        self._loop_task = self._clock.start_task(self.run())

    async def stop(self, timeout: float) -> None:
        """Stop claiming; give in-flight attempts ``timeout`` to finish and be recorded.

        Anything still in flight after that stays PENDING in the database (its lease lapses and
        it is sent again on the next start): at-least-once, never lost.
        """
        self._refill = False   # what is recorded from now on frees slots for nobody
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.drain()
        for task in self._senders:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._recorder.stop()
        # Claimed but never sent (the drain timed out): their leases lapse and they are sent
        # again, after a restart or by another dispatcher; nobody waits for their results.
        while not self._queue.empty():
            self._queue.get_nowait()
            self._free_slots(1)

    @property
    def running(self) -> bool:
        """Whether the delivery loop is running (started and neither stopped nor crashed)."""
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        """Attempts claimed and not yet answered (queued or being sent)."""
        return self._queue.qsize() + self._sending
