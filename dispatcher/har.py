"""A subscription's delivery attempts as HAR 1.2 (storage.har): each attempt is one entry, the
request as the platform sent it (the event's exact bytes, its signed headers), the response as
far as hooksim keeps it (the status, and the first ``response_excerpt_bytes`` of the body)."""

from __future__ import annotations

from typing import Any

from dispatcher.clock import iso
from dispatcher.headers import request_headers
from dispatcher.settings import DispatcherSettings
from storage.deliveries import AttemptRecord, DeliveryRecord
from storage.har import har_request, har_response, har_timed_entry


def attempt_entry(delivery: DeliveryRecord, attempt: AttemptRecord,
                  settings: DispatcherSettings) -> dict[str, Any]:
    headers = list(request_headers(delivery, attempt.number, settings).items())
    response = har_response(
        attempt.status_code, attempt.detail if attempt.status_code else "", [],
        attempt.response_excerpt.encode("utf-8"), "",
        comment=(f"no answer: {attempt.detail}" if attempt.status_code is None else
                 f"hooksim keeps the status and the first {settings.response_excerpt_bytes} "
                 "bytes of the body (decoded as UTF-8), no headers"))
    return har_timed_entry(
        attempt.started_at, attempt.latency_ms,
        har_request("POST", delivery.url, headers, delivery.body), response,
        _hooksim={"webhookGuid": delivery.webhook_guid, "eventGuid": delivery.event_guid,
                  "subscriptionGuid": delivery.subscription_guid,
                  "eventCategory": delivery.category, "eventType": delivery.event_type,
                  "series": attempt.series, "attemptNumber": attempt.number,
                  "outcome": attempt.outcome, "deliveryStatus": delivery.status,
                  "at": iso(attempt.started_at)})
