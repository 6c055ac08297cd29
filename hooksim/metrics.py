"""``GET /metrics``: what hooksim is doing, in the Prometheus text format (prometheus-client).

Two kinds of series (names and labels: docs/observability.md):

- counters and histograms of what this process did, fed by the components' observers (the
  dispatcher's :class:`~dispatcher.app.Observers`, the receiver's ``observers`` and its group
  committer's): deliveries, attempts, retries, back-off transitions, receiver verdicts, commits;
- gauges of what the database holds (subscriptions by status, the outbox depths), read at scrape
  time by :class:`DatabaseCollector`, so they are right whichever process changed the rows.

One :class:`~prometheus_client.CollectorRegistry` per app, never the global default one: tests and
several apps in one process keep their own counts. Several processes (``server.role`` on
PostgreSQL) each serve their own series; Prometheus tells them apart by ``instance``.

Access (``metrics.access``): open while the server is bound to loopback, else a bearer token:
``metrics.token``, or one of hooksim's own access tokens where the process has the API login.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dispatcher.api import SERVICE
from dispatcher.app import ENGINE, OBSERVERS
from dispatcher.backoff import Transition
from dispatcher.http import Response
from dispatcher.policy import DeliveryStatus, OutcomeKind
from hooksim.auth import ACCESS
from hooksim.runner import is_loopback
from hooksim.settings import MetricsSettings, Settings
from receiver import RECEIVER
from receiver.running import MessageVerdict
from storage.deliveries import DeliveryRecord
from storage.errors import StorageError
from storage.observe import Depths, read_depths
from storage.subscriptions import SubscriptionRecord
from storage.web import DATABASE
from web.errors import ApiError
from web.routes import json_route

# Attempt latency: the platform gives up after 2 s to connect plus 2 s reading.
ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
# The endpoint label of a request to a name no endpoint has: any name, so not a label value.
UNKNOWN_ENDPOINT = "(unknown)"


def attempt_outcome(response: Response) -> str:
    """``2xx``/``3xx``/``4xx``/``5xx`` (the status class), ``timeout``, ``connect_error``, ``error``."""
    outcome = response.outcome
    if outcome.kind is OutcomeKind.HTTP and outcome.status is not None:
        return f"{outcome.status // 100}xx"
    return outcome.kind.value


class DatabaseCollector(Collector):
    """Gauges of what the database holds, from the last :meth:`refresh` (the handler refreshes
    before each scrape: collectors are synchronous, reads are not)."""

    def __init__(self) -> None:
        self.depths: Depths | None = None
        self.dispatch = self.notifications = False

    async def refresh(self, app: web.Application) -> None:
        now = app[SERVICE].clock.now() if SERVICE in app else time.time()
        try:
            self.depths = await read_depths(app[DATABASE], now, dispatch=self.dispatch,
                                            notifications=self.notifications)
        except StorageError:
            self.depths = None

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hooksim_database_up",
                               "1 if the last scrape could read the database, else 0")
        up.add_metric([], 0 if self.depths is None else 1)
        yield up
        if self.depths is None:
            return
        if self.dispatch:
            subscriptions = GaugeMetricFamily("hooksim_subscriptions",
                                              "Subscriptions by back-off status", labels=["status"])
            for status in ("ACTIVE", "PAUSED", "STOPPED"):
                subscriptions.add_metric([status], self.depths.subscriptions.get(status, 0))
            yield subscriptions
            outbox = GaugeMetricFamily("hooksim_outbox_deliveries",
                                       "Deliveries waiting: pending, and of those due now",
                                       labels=["state"])
            outbox.add_metric(["pending"], self.depths.deliveries_pending)
            outbox.add_metric(["due"], self.depths.deliveries_due)
            yield outbox
        if self.notifications:
            emails = GaugeMetricFamily("hooksim_notifications",
                                       "Notification emails by status: PENDING is the outbox "
                                       "depth, FAILED gave up", labels=["status"])
            for status in ("PENDING", "SENT", "FAILED", "DISABLED"):
                emails.add_metric([status], self.depths.notifications.get(status, 0))
            yield emails


class Metrics:
    """One app's registry and its series."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "hooksim_deliveries", "Deliveries that reached a final status (SUCCESS, FAILURE, "
            "NOT_SENT)", ["category", "status"], registry=registry)
        self.attempts = Counter(
            "hooksim_delivery_attempts", "Delivery attempts made, by subscription and outcome",
            ["subscription", "outcome"], registry=registry)
        self.attempt_seconds = Histogram(
            "hooksim_delivery_attempt_duration_seconds", "Wall time of one attempt's HTTP exchange",
            registry=registry, buckets=ATTEMPT_BUCKETS)
        self.retries = Counter(
            "hooksim_delivery_retries_scheduled", "Attempts whose delivery will be tried again",
            ["category"], registry=registry)
        self.transitions = Counter(
            "hooksim_backoff_transitions", "Back-off transitions (PAUSED, RESUMED, STOPPED, "
            "RESTARTED)", ["kind"], registry=registry)
        self.messages = Counter(
            "hooksim_receiver_messages", "Requests to /hooks/{name} by endpoint and verdict "
            "(verified, unverified, duplicate, rejected with its reason, not_stored)",
            ["endpoint", "verdict", "reason"], registry=registry)
        self.batch_size = Histogram(
            "hooksim_receiver_commit_batch_size", "Messages written in one group-commit transaction",
            registry=registry, buckets=BATCH_BUCKETS)
        self.commit_seconds = Histogram(
            "hooksim_receiver_commit_duration_seconds", "Wall time of one group-commit transaction",
            registry=registry, buckets=COMMIT_BUCKETS)
        self.sse_listeners = Gauge("hooksim_sse_listeners", "Open live message streams (SSE)",
                                   registry=registry)
        self.in_flight = Gauge("hooksim_dispatcher_in_flight",
                               "Attempts claimed and not yet answered", registry=registry)
        self.database = DatabaseCollector()
        registry.register(self.database)
        self._attempts: dict[tuple[str, str], Counter] = {}
        self._messages: dict[tuple[str, str, str], Counter] = {}

    # -- observers ---------------------------------------------------------------------------
    # On the hot paths (every attempt, every message) a labelled series is looked up in a plain
    # dict: prometheus-client's labels() validates and locks on each call, ~7 % of the
    # receiver's CPU per request when asked per message.
    def on_attempt(self, delivery: DeliveryRecord, _number: int, response: Response) -> None:
        key = (delivery.subscription_guid, attempt_outcome(response))
        child = self._attempts.get(key)
        if child is None:
            child = self._attempts[key] = self.attempts.labels(*key)
        child.inc()
        self.attempt_seconds.observe(response.outcome.latency_ms / 1000)

    def on_status(self, category: str, status: str, count: int) -> None:
        if status == DeliveryStatus.PENDING:
            self.retries.labels(category).inc(count)
        else:
            self.deliveries.labels(category, str(status)).inc(count)

    def on_transition(self, _subscription: SubscriptionRecord, transition: Transition) -> None:
        self.transitions.labels(transition.kind.value).inc()

    def on_message(self, endpoint: str | None, verdict: MessageVerdict, reason: str) -> None:
        key = (endpoint or UNKNOWN_ENDPOINT, verdict, reason)
        child = self._messages.get(key)
        if child is None:
            child = self._messages[key] = self.messages.labels(*key)
        child.inc()

    def on_commit(self, messages: int, seconds: float) -> None:
        self.batch_size.observe(messages)
        self.commit_seconds.observe(seconds)


METRICS = web.AppKey("metrics", Metrics)


def open_to(settings: Settings) -> bool:
    """Whether ``/metrics`` needs no token with these settings."""
    access = settings.metrics.access
    return access == "open" or (access == "auto" and is_loopback(settings.server.host))


async def check_token(request: web.Request, settings: MetricsSettings) -> None:
    """Let the request through with ``metrics.token`` or one of hooksim's access tokens; 401
    otherwise."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if settings.token and scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8", "surrogatepass"), settings.token.encode()):
        return
    if ACCESS in request.app:   # hooksim's own login; raises 401 naming what is wrong
        await request.app[ACCESS].authenticate(request)
        return
    raise ApiError("/metrics needs Authorization: Bearer <metrics.token> when hooksim is not "
                   "bound to loopback; set metrics.token (HOOKSIM_METRICS_TOKEN)",
                   code="missing_token", headers={"WWW-Authenticate": "Bearer"})


def setup_metrics(app: web.Application, settings: Settings) -> None:
    """Serve ``GET /metrics``. Call after the components' ``setup_x``: it subscribes to the
    dispatcher's observers now and to the receiver's when the app starts."""
    metrics = app[METRICS] = Metrics()
    open_access = open_to(settings)
    if OBSERVERS in app:
        observers = app[OBSERVERS]
        observers.attempts.append(metrics.on_attempt)
        observers.statuses.append(metrics.on_status)
        observers.transitions.append(metrics.on_transition)
        metrics.database.dispatch = metrics.database.notifications = True

    async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
        if RECEIVER in app:
            receiver = app[RECEIVER]
            receiver.observers.append(metrics.on_message)
            receiver.committer.observers.append(metrics.on_commit)
            metrics.sse_listeners.set_function(lambda: receiver.hub.listeners)
        if ENGINE in app:
            engine = app[ENGINE]
            metrics.in_flight.set_function(lambda: engine.in_flight)
        yield

    @json_route
    async def serve(request: web.Request) -> web.Response:
        if not open_access:
            await check_token(request, settings.metrics)
        await metrics.database.refresh(request.app)
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.cleanup_ctx.append(metrics_ctx)
    app.router.add_get("/metrics", serve)
