"""The availability snooze scenario: toggle offline now, online by itself when the snooze ends."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dispatcher.events import iso_utc
from dispatcher.events.schedule import next_opening
from tests.dispatcher.conftest import FAST


async def _toggles(dispatcher, target, kind, **kwargs):
    await dispatcher.service.create_subscription(event_category="restaurant_availability_toggle",
                                                 url=target.url, notification_email="dev@example.com")
    started = dispatcher.clock.now()
    made = await dispatcher.service.snooze(kind=kind, **kwargs)
    await dispatcher.run_due()
    return started, made


@pytest.mark.parametrize(("kind", "minutes"), [("20m", 20), ("40m", 40)])
async def test_a_snooze_goes_offline_now_and_online_when_it_ends(dispatcher, target, kind, minutes):
    started, (offline, online) = await _toggles(dispatcher, target, kind)
    assert len(target.requests) == 1
    first = json.loads(target.requests[0][1])
    assert first["eventType"] == "toggle_availability_offline"
    assert first["details"]["reasonKey"] == "TOGGLE_DISABLED"
    assert first["details"]["reason"] == "User disabled integration"
    await dispatcher.advance(minutes * 60 - 1)
    assert len(target.requests) == 1            # still snoozed
    await dispatcher.advance(1)
    assert len(target.requests) == 2
    second = json.loads(target.requests[1][1])
    assert second["eventType"] == "toggle_availability_online"
    assert second["details"] == {"restaurantGuid": offline.restaurant_guid, "status": "ONLINE",
                                 "reasonKey": "TOGGLE_ENABLED", "reason": "User enabled integration"}
    assert second["timestamp"] == iso_utc(round((started + minutes * 60) * 1000))
    assert target.requests[1][0]["Toast-Event-Category"] == "restaurant_availability_toggle"


@pytest.fixture
def dispatcher_settings(request):
    return replace(FAST, **getattr(request, "param", {}))


@pytest.mark.parametrize("dispatcher_settings", [{"snooze_started_reason": "Snoozed by the restaurant",
                                                  "snooze_ended_reason": "Snooze ended"}], indirect=True)
async def test_until_the_next_opening_and_the_reason_settings(dispatcher, target):
    restaurant = dispatcher.service.restaurants[2]
    started, (offline, online) = await _toggles(dispatcher, target, "next_opening",
                                                restaurant_guid=restaurant.guid)
    assert offline.details["reason"] == "Snoozed by the restaurant"
    assert online.details["reason"] == "Snooze ended"
    opens = next_opening(restaurant, started)
    assert online.timestamp == iso_utc(round(opens * 1000))
    await dispatcher.advance(opens - started - 1)
    assert len(target.requests) == 1
    await dispatcher.advance(1)
    assert [json.loads(body)["eventType"] for _, body in target.requests] == [
        "toggle_availability_offline", "toggle_availability_online"]
