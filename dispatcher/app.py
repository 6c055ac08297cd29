"""aiohttp wiring: ``setup_dispatcher(app, ...)`` adds the engine, its ClientSession, the
notification sender and the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web

from dispatcher.api import SERVICE, STREAMS, routes
from dispatcher.backoff import Transition, rules_from_settings
from dispatcher.clock import Clock
from dispatcher.engine import DeliveryEngine
from dispatcher.observers import AttemptHook, StatusHook
from dispatcher.http import HttpSender, Response, new_session
from dispatcher.notifications import NOTIFICATION_SENDER, setup_notifications
from dispatcher.service import DispatcherService
from dispatcher.disorder import Disorder
from dispatcher.settings import BackoffSettings, DisorderSettings, DispatcherSettings, SmtpSettings
from dispatcher.streams import Streams
from dispatcher.transitions import notification_for
from storage.deliveries import DeliveryRecord, DeliveryStore
from storage.subscriptions import SubscriptionRecord
from storage.web import DATABASE

ENGINE = web.AppKey("dispatcher_engine", DeliveryEngine)


@dataclass
class Observers:
    """Who else is told what the dispatcher did (e.g. metrics). Fill the lists before the app
    starts: the engine is only given the hooks that have someone to tell."""

    attempts: list[AttemptHook] = field(default_factory=list)
    statuses: list[StatusHook] = field(default_factory=list)
    transitions: list[Callable[[SubscriptionRecord, Transition], None]] = field(
        default_factory=list)

    def on_attempt(self, delivery: DeliveryRecord, number: int, response: Response) -> None:
        for hook in self.attempts:
            hook(delivery, number, response)

    def on_status(self, category: str, status: str, count: int) -> None:
        for hook in self.statuses:
            hook(category, status, count)

    def on_transition(self, subscription: SubscriptionRecord, transition: Transition) -> None:
        for hook in self.transitions:
            hook(subscription, transition)


OBSERVERS = web.AppKey("dispatcher_observers", Observers)

def setup_dispatcher(
    app: web.Application,
    settings: DispatcherSettings,
    backoff: BackoffSettings,
    smtp: SmtpSettings,
    clock: Clock,
    *,
    shutdown_timeout: float = 10.0,
    api: bool = True,
    deliver: bool = True,
    disorder: DisorderSettings = DisorderSettings(),
) -> None:
    """Serve the admin API (``api``) and, while the app runs, deliver and send the notification
    outbox (``deliver``). ``app[SERVICE]`` exists either way. Needs ``setup_database`` first.

    Without ``deliver`` (an API process beside dispatcher processes) events are only committed
    to the outbox; the dispatchers find them by polling (``dispatcher.poll_interval``).
    """
    rules = rules_from_settings(backoff)
    observers = app[OBSERVERS] = Observers()
    # Platform time, like everything here.
    setup_notifications(app, smtp, now=clock.now, send=deliver, routes=api)

    async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
        hook = notification_for(rules)
        wake_sender = app[NOTIFICATION_SENDER].wake
        told = observers.on_transition if observers.transitions else None
        if not deliver:
            app[SERVICE] = DispatcherService(app[DATABASE], clock, settings, rules, notify=hook,
                                             on_transition=told, disorder=Disorder(disorder))
            app[STREAMS] = Streams(app[SERVICE], clock)
            yield
            await app[STREAMS].close()
            return
        session = new_session(settings)
        engine = DeliveryEngine(
            DeliveryStore(app[DATABASE]), HttpSender(session, settings.response_excerpt_bytes),
            clock, settings, rules, notify=hook, on_committed=wake_sender, on_transition=told,
            on_attempt=observers.on_attempt if observers.attempts else None,
            on_status=observers.on_status if observers.statuses else None)
        app[ENGINE] = engine
        app[SERVICE] = DispatcherService(app[DATABASE], clock, settings, rules, wake=engine.wake,
                                         notify=hook, on_committed=wake_sender, on_transition=told,
                                         disorder=Disorder(disorder))
        app[STREAMS] = Streams(app[SERVICE], clock)
        if settings.enabled:
            await engine.start()
        yield
        await app[STREAMS].close()
        await engine.stop(timeout=shutdown_timeout)
        await session.close()

    app.cleanup_ctx.append(dispatcher_ctx)
    if api:
        app.router.add_routes(routes)
