"""The headers of a webhook request, as the platform sends them (spec section 3)."""

from __future__ import annotations

from dispatcher import events as catalogue
from dispatcher.settings import DispatcherSettings
from storage.deliveries import DeliveryRecord


def request_headers(delivery: DeliveryRecord, attempt_number: int,
                    settings: DispatcherSettings) -> dict[str, str]:
    """The platform's headers (spec section 3); the signature was computed over these exact bytes.

    aiohttp adds Host and Content-Length; the session skips its automatic ``Accept``
    (:data:`dispatcher.http.SKIP_AUTO_HEADERS`), which Toast does not send.
    """
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Toast-Signature": delivery.signature,
        "Toast-Event-Type": delivery.event_type,
        "Toast-Event-Category": catalogue.envelope_category(delivery.category, delivery.event_type,
                                                            settings, delivery.body),
        "Toast-Attempt-Number": str(attempt_number),
        "User-Agent": settings.user_agent,
        "Accept-Encoding": "gzip,deflate",
    }
    if not settings.keep_alive:
        headers["Connection"] = "close"
    if delivery.restaurant_guid is not None:
        headers["Toast-Restaurant-External-ID"] = delivery.restaurant_guid
    return headers
