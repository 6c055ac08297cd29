"""The simulated world: deterministic, realistic, with groups sharing multiLocationIds."""

from __future__ import annotations

import re
import zoneinfo
from collections import defaultdict

import pytest

from dispatcher.events import placeholder_restaurant, simulated_restaurants

WORLD = simulated_restaurants(40, seed=3)


def _groups(world):
    groups = defaultdict(list)
    for restaurant in world:
        if restaurant.management_group_guid is not None:
            groups[restaurant.management_group_guid].append(restaurant)
    return {guid: members for guid, members in groups.items() if len(members) > 1}


def test_same_seed_same_world_and_different_seed_different_world():
    assert simulated_restaurants(12, seed=5) == simulated_restaurants(12, seed=5)
    assert simulated_restaurants(12, seed=5) != simulated_restaurants(12, seed=6)


@pytest.mark.parametrize("count", [0, 1, 2, 12, 100])
def test_count_is_exact_and_guids_unique(count):
    world = simulated_restaurants(count, seed=1)
    assert len(world) == count
    assert len({r.guid for r in world}) == count
    items = [item.guid for r in world for item in r.items]
    assert len(items) == len(set(items))


def test_negative_count_is_rejected():
    with pytest.raises(ValueError, match="count"):
        simulated_restaurants(-1, seed=0)


@pytest.mark.parametrize("seed", range(10))
def test_even_a_small_world_has_a_multi_location_group(seed):
    assert _groups(simulated_restaurants(3, seed))


def test_group_locations_share_multi_location_ids_but_not_item_guids():
    groups = _groups(WORLD)
    assert len(groups) >= 3
    for members in groups.values():
        menus = {tuple((i.name, i.multi_location_id) for i in r.items) for r in members}
        assert len(menus) == 1
        assert len({r.name for r in members}) == 1
        assert len({r.location_name for r in members}) == len(members)
        assert all(r.location_name for r in members)
    ids_by_group = [{i.multi_location_id for r in members for i in r.items} for members in groups.values()]
    for index, ids in enumerate(ids_by_group):
        assert all(ids.isdisjoint(other) for other in ids_by_group[index + 1:])


def test_world_mixes_independent_restaurants_and_null_fields():
    assert any(r.management_group_guid is None for r in WORLD)
    assert any(r.location_name is None for r in WORLD)
    grouped = {r.guid for members in _groups(WORLD).values() for r in members}
    assert any(r.location_name for r in WORLD if r.guid not in grouped)
    assert any(r.address_line2 is None for r in WORLD) and any(r.address_line2 for r in WORLD)
    assert any(r.created_by_phone is None for r in WORLD)


def test_fields_look_like_real_us_restaurants():
    for r in WORLD:
        assert r.country_code == "US"
        assert re.fullmatch(r"[A-Z]{2}", r.state) and re.fullmatch(r"[0-9]{5}", r.zip_code)
        assert re.fullmatch(r"[0-9]{10}", r.phone)
        assert re.fullmatch(r"[0-9]+ .+", r.address_line1)
        assert zoneinfo.ZoneInfo(r.timezone)  # a real IANA zone
        assert 18 < float(r.latitude) < 72 and -170 < float(r.longitude) < -65
        assert re.fullmatch(r"-?[0-9]+\.[0-9]{6}", r.latitude)
        assert re.fullmatch(r"-?[0-9]+\.[0-9]{6}", r.longitude)
        assert 1_546_300_800 <= r.created_at < 1_704_067_200
        assert re.fullmatch(r"[a-z]+\.[a-z]+@[a-z0-9]+\.com", r.created_by_email)
        assert len(r.items) >= 5 and all(re.fullmatch(r"[0-9]{18}", i.multi_location_id) for i in r.items)


def test_built_in_names_include_non_ascii():
    names = {r.name for r in simulated_restaurants(60, seed=0)}
    assert "Café Olé" in names
    assert any(not item.name.isascii() for r in WORLD for item in r.items)


def test_placeholder_is_derived_from_its_guid_only():
    guid = "fa1df5f1-407f-463b-aac2-f1c307fa5874"
    assert placeholder_restaurant(guid) == placeholder_restaurant(guid)
    assert placeholder_restaurant(guid).guid == guid
    assert placeholder_restaurant(guid) != placeholder_restaurant("bf12cb0a-173a-4e66-bd3c-8121d4a5287f")
