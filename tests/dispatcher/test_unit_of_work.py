"""The unit of work's decide step (decide_batch) on plain records, without a database: each
result's next status and back-off, the pauses that ran out, which claimed deliveries may go."""

from __future__ import annotations

from dispatcher.backoff import BackoffRules, BackoffState, SubscriptionStatus, TransitionKind
from dispatcher.http import Response
from dispatcher.policy import DeliveryStatus, Outcome, OutcomeKind, RetrySchedule
from dispatcher.unit_of_work import AttemptResult, BatchReads, decide_batch
from storage.deliveries import DeliveryRecord
from storage.subscriptions import SubscriptionRecord

RULES = BackoffRules(errors_to_pause=2, error_window=60.0, pause_seconds=30.0,
                     pauses_to_stop=3, pause_window=600.0)
SCHEDULE = RetrySchedule((10.0, 20.0))
NOW = 1000.0


def subscription(guid: str, state: BackoffState = BackoffState()) -> SubscriptionRecord:
    return SubscriptionRecord(
        guid=guid, name=guid, event_category="menus", url="http://127.0.0.1:9/", secret="s",
        notification_email="owner@example.com", status=state.status.value,
        error_times=state.error_times, pause_times=state.pause_times,
        paused_until=state.paused_until, created_at=0.0, modified_at=0.0)


def delivery(id: int, subscription_guid: str) -> DeliveryRecord:
    return DeliveryRecord(
        id=id, webhook_guid=f"w{id}", subscription_guid=subscription_guid, event_guid=f"e{id}",
        category="menus", event_type="menus_updated", restaurant_guid=None, status="PENDING",
        series=1, attempts=0, total_attempts=0, next_attempt_at=NOW, first_sent_at=None,
        last_status_code=None, last_outcome=None, route_key="k", signature="sig", body=b"{}",
        url="http://127.0.0.1:9/", created_at=0.0, updated_at=0.0)


def result(d: DeliveryRecord, status: int | None, number: int = 1) -> AttemptResult:
    outcome = (Outcome(OutcomeKind.HTTP, status, 5.0) if status is not None
               else Outcome(OutcomeKind.TIMEOUT, None, 5.0, "read timeout"))
    return AttemptResult(d, number, NOW - 1, NOW, Response(outcome, "answer"))


def decide(results=(), ending=(), claimed=(), subscriptions=()):   # type: ignore[no-untyped-def]
    reads = BatchReads(list(results), list(ending), list(claimed),
                       {s.guid: s for s in subscriptions})
    return decide_batch(reads, RULES, lambda category: SCHEDULE, NOW)


def test_results_get_their_next_status_and_the_attempt_as_recorded() -> None:
    sub = subscription("a")
    ok, failing, final = delivery(1, "a"), delivery(2, "a"), delivery(3, "a")
    decided = decide([result(ok, 200), result(failing, 503), result(final, None, number=3)],
                     subscriptions=[sub])
    assert decided.statuses == [DeliveryStatus.SUCCESS, DeliveryStatus.PENDING,
                                DeliveryStatus.FAILURE]
    [(id1, attempt1, status1, next1, at1), (id2, _, _, next2, _), (id3, attempt3, _, next3, _)] = \
        decided.attempts
    assert (id1, status1, next1, at1) == (1, "SUCCESS", None, NOW)
    assert (attempt1.outcome, attempt1.status_code, attempt1.response_excerpt) == ("http", 200, "answer")
    assert (id2, next2) == (2, NOW + 10.0)        # the schedule's first delay
    assert (id3, next3, attempt3.detail) == (3, None, "read timeout")
    # Two errors at NOW reach errors_to_pause: paused once, the state to save says so.
    assert [(r.guid, t.kind) for r, t in decided.transitions] == [("a", TransitionKind.PAUSED)]
    assert decided.states["a"].status is SubscriptionStatus.PAUSED
    assert decided.states["a"].paused_until == NOW + 30.0


def test_a_success_changes_no_state_and_writes_none() -> None:
    decided = decide([result(delivery(1, "a"), 200)], subscriptions=[subscription("a")])
    assert decided.states == {} and decided.transitions == []


def test_a_pause_that_ran_out_resumes_before_the_claim_is_gated() -> None:
    paused = subscription("a", BackoffState(SubscriptionStatus.PAUSED, (), (NOW - 40,), NOW - 10))
    decided = decide(ending=[paused], claimed=[delivery(1, "a")], subscriptions=[paused])
    assert [t.kind for _, t in decided.transitions] == [TransitionKind.RESUMED]
    assert decided.transitions[0][1].at == NOW - 10   # dated when the pause ended
    assert decided.states["a"].status is SubscriptionStatus.ACTIVE
    assert [d.id for d in decided.to_send] == [1] and decided.not_sent == []


def test_claimed_deliveries_of_paused_stopped_or_deleted_subscriptions_are_not_sent() -> None:
    paused = subscription("p", BackoffState(SubscriptionStatus.PAUSED, (), (NOW,), NOW + 30))
    stopped = subscription("s", BackoffState(SubscriptionStatus.STOPPED, (), (NOW,)))
    active = subscription("a")
    claimed = [delivery(1, "p"), delivery(2, "s"), delivery(3, "gone"), delivery(4, "a")]
    decided = decide(claimed=claimed, subscriptions=[paused, stopped, active])
    assert [d.id for d in decided.to_send] == [4]
    assert [(d.id, why) for d, why in decided.not_sent] == [(1, "PAUSED"), (2, "STOPPED"),
                                                            (3, "DELETED")]
    # Only a pause has an end before which the subscription's other deliveries go unsent.
    assert decided.pauses == {"p": (NOW + 30, "menus")}
    assert decided.states == {} and decided.transitions == []


def test_a_result_for_a_deleted_subscription_is_recorded_without_back_off() -> None:
    decided = decide([result(delivery(1, "gone"), 500)])
    assert [a[0] for a in decided.attempts] == [1] and decided.statuses == ["PENDING"]
    assert decided.states == {} and decided.transitions == []


def test_the_decision_reads_no_more_than_it_is_given() -> None:
    # The same reads decide the same way twice: nothing is kept between calls.
    sub = subscription("a", BackoffState(SubscriptionStatus.ACTIVE, (NOW - 5,)))
    reads = dict(results=[result(delivery(1, "a"), 500)], subscriptions=[sub])
    first, second = decide(**reads), decide(**reads)
    assert first == second
    assert first.states["a"].status is SubscriptionStatus.PAUSED
