"""A subscription's back-off transitions: what each one writes (its history row and the owner's
email, composed by pure functions here) and who is told once it has committed.

The engine's unit of work (:mod:`dispatcher.unit_of_work`) and the service's restart both
record transitions through :func:`record_transition`, so a transition never exists without its
email. A new kind of email, or a change of which transitions send one, belongs here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from dispatcher.backoff import BackoffRules, Transition, TransitionKind
from storage.deliveries import DispatchTransaction
from storage.notifications import NewNotification, NotificationKind
from storage.subscriptions import SubscriptionRecord, TransitionRecord
from web.times import iso

# Composes the email a back-off transition causes, or None (e.g. RESUMED: no email). Plain and
# synchronous: it runs inside the batch that records the transition, which writes its result
# to the notification outbox in the same transaction.
Notify = Callable[[SubscriptionRecord, Transition], NewNotification | None]
# Told of every back-off transition once its transaction has committed, in order, on the event
# loop (e.g. live load-test counters); may be a coroutine function.
TransitionHook = Callable[[SubscriptionRecord, Transition], Awaitable[None] | None]

# The platform emails on pause, stop and restart; never when a pause ends by itself.
_NOTIFIED = frozenset({TransitionKind.PAUSED, TransitionKind.STOPPED, TransitionKind.RESTARTED})


def notification_for(rules: BackoffRules) -> Notify:
    """The owner's email for a transition (None when the platform sends none), which the
    unit of work writes in the transaction that records the transition (an outbox)."""

    def compose_for(subscription: SubscriptionRecord,
                    transition: Transition) -> NewNotification | None:
        if transition.kind not in _NOTIFIED:
            return None
        paused_until = (transition.at + rules.pause_seconds
                        if transition.kind is TransitionKind.PAUSED else None)
        return compose(transition.kind.value, subscription, transition.at,
                       transition.errors_in_window, transition.pauses_in_window, paused_until,
                       transition.reason)

    return compose_for


# --- the email of a transition -----------------------------------------------------------------


class NotifiedSubscription(Protocol):
    """The subscription fields an email needs (``storage.subscriptions.SubscriptionRecord`` fits)."""

    @property
    def guid(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def event_category(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def notification_email(self) -> str: ...


_NOT_SENT = (
    'Events that fall due meanwhile get the status "Not sent" and are not sent later by '
    "themselves; use Replay to send them again."
)


def compose(
    kind: str,
    subscription: NotifiedSubscription,
    at: float,
    errors_in_window: int = 0,
    pauses_in_window: int = 0,
    paused_until: float | None = None,
    reason: str = "",
) -> NewNotification:
    """The email for a PAUSED, STOPPED or RESTARTED transition at platform time ``at``.

    ``reason`` is the transition's own wording (``"50 errors in 5 min"``); without it the counts
    are used. ``paused_until`` is required for PAUSED. Any other kind (RESUMED) is a ValueError:
    the platform sends no email when a pause ends by itself.
    """
    kind = NotificationKind(kind)
    name = " ".join(subscription.name.split()) or subscription.guid  # one line, for the subject
    facts = [
        f"Subscription:      {name}",
        f"Subscription GUID: {subscription.guid}",
        f"Event category:    {subscription.event_category}",
        f"Webhook URL:       {subscription.url}",
    ]
    when = iso(at)
    if kind is NotificationKind.PAUSED:
        if paused_until is None:
            raise ValueError("a PAUSED notification needs paused_until")
        until = iso(paused_until)
        why = reason or f"{errors_in_window} errors"
        opening = (f'Your webhook subscription "{name}" was paused at {when} because its webhook '
                   f"URL failed too often: {why}.")
        facts += [f"Paused at:         {when}", f"Paused until:      {until}",
                  f"Errors in window:  {errors_in_window}", f"Pauses in window:  {pauses_in_window}"]
        meaning = (f"no messages are sent to the webhook URL until {until}. {_NOT_SENT} The "
                   "subscription resumes by itself at that time; no email is sent when it does.")
        todo = ("check that the endpoint answers every message with a 2xx status in time: every "
                "attempt that does not get one counts as an error. A subscription that keeps "
                "being paused is stopped, and then only a restart starts it again.")
    elif kind is NotificationKind.STOPPED:
        why = reason or f"{pauses_in_window} pauses"
        opening = (f'Your webhook subscription "{name}" was stopped at {when} because it was '
                   f"paused too often: {why}.")
        facts += [f"Stopped at:        {when}", f"Pauses in window:  {pauses_in_window}",
                  f"Errors in window:  {errors_in_window}"]
        meaning = ("no messages are sent to the webhook URL, and the subscription does not start "
                   f"again by itself. {_NOT_SENT}")
        todo = ("fix the endpoint so that it answers with a 2xx status, then restart the "
                "subscription.")
    else:
        opening = (f'Your webhook subscription "{name}" was restarted at {when}'
                   f"{f' ({reason})' if reason else ''}: messages are sent to its webhook URL again.")
        facts += [f"Restarted at:      {when}"]
        meaning = ("new events are delivered from now on; the error and pause counts start from "
                   'zero. Events that got the status "Not sent" while the subscription was stopped '
                   "are not sent by themselves; use Replay to send them again.")
        todo = ""
    paragraphs = [opening, "\n".join(facts), f"What this means: {meaning}"]
    if todo:
        paragraphs.append(f"What to do: {todo}")
    return NewNotification(
        kind=kind,
        subscription_guid=subscription.guid,
        subscription_name=subscription.name,
        event_category=subscription.event_category,
        webhook_url=subscription.url,
        recipient=subscription.notification_email.strip(),
        subject=f'[hooksim] Webhook subscription "{name}" {kind.value.lower()}',
        body="\n\n".join(paragraphs) + "\n",
        created_at=at,
    )


def history_row(subscription: SubscriptionRecord, transition: Transition) -> TransitionRecord:
    """The transition as the subscription's back-off history stores it."""
    return TransitionRecord(subscription.guid, transition.kind.value, transition.at,
                            transition.errors_in_window, transition.pauses_in_window,
                            transition.reason)


def record_transition(tx: DispatchTransaction, subscription: SubscriptionRecord,
                      transition: Transition, notify: Notify | None) -> None:
    """Write a back-off transition to the history and, in the same transaction, the email it
    causes to the outbox."""
    tx.add_transition(history_row(subscription, transition))
    if notify is not None and (email := notify(subscription, transition)) is not None:
        tx.add_notification(email)


async def tell(hook: TransitionHook | None, subscription: SubscriptionRecord,
               transitions: list[Transition]) -> None:
    """Hand committed transitions to an observer, in order."""
    if hook is None:
        return
    for transition in transitions:
        outcome = hook(subscription, transition)
        if outcome is not None:
            await outcome
