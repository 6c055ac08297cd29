"""load with disorder on purpose: duplicates, reordering and late copies reach the endpoint as
the report says, and the report still counts events, not copies."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from aiohttp import web

from dispatcher.settings import DisorderSettings
from loadtest.run import LoadOptions, run_load
from loadtest.scenario import Scenario
from tests.endpoints import SECRET, run_cli


async def test_the_endpoint_sees_duplicates_disorder_and_late_copies(endpoint) -> None:
    arrivals: list[tuple[str, str, bytes, str]] = []

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        envelope = json.loads(body)
        arrivals.append((envelope["guid"], envelope["timestamp"], body,
                         request.headers["Toast-Signature"]))
        return web.Response(status=200)

    disorder = DisorderSettings(duplicate_rate=0.1, duplicate_within=60, reorder_window=30,
                                late_rate=0.1, late_after=600, seed=4)
    report = await run_load(LoadOptions(await endpoint(record), SECRET, Scenario(1, 720, seed=4),
                                        disorder=disorder))
    data = report.data
    assert data["events"] == 720                       # events, not deliveries
    summary = data["disorder"]
    assert summary["reordered"] == 720 and summary["duplicates"] > 40 and summary["late"] > 40

    seen: dict[str, list[int]] = defaultdict(list)
    for index, (guid, *_rest) in enumerate(arrivals):
        seen[guid].append(index)
    repeated = {guid: at for guid, at in seen.items() if len(at) > 1}
    # copies due after the end (late ones of the last 10 minutes) never went out
    assert 0 < sum(len(at) - 1 for at in repeated.values()) <= summary["duplicates"] + summary["late"]
    for guid, at in repeated.items():                  # the very same bytes and signature
        assert len({(arrivals[i][2], arrivals[i][3]) for i in at}) == 1

    stamps = [seconds(timestamp) for _, timestamp, _, _ in arrivals]
    assert any(later < earlier for earlier, later in zip(stamps, stamps[1:]))   # reordered
    # a late copy arrives after updates nearly 10 minutes newer than itself
    behind = [max(stamps[:i], default=stamp) - stamp for i, stamp in enumerate(stamps)]
    assert any(behind[at[-1]] > 540 for at in repeated.values())


def seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


async def test_cli_disorder_flags_show_in_the_summary_and_refuse_bad_values(endpoint) -> None:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    url = await endpoint(ok)
    code, out, err = await run_cli("load", "--url", url, "--secret", SECRET, "--rate", "1/s",
                                   "--duration", "2m", "--duplicates", "50%", "--seed", "2")
    assert code == 0, out + err
    assert "disorder (seed 2)" in out and " duplicates, 0 reordered, 0 late" in out

    code, _, err = await run_cli("load", "--url", url, "--secret", SECRET, "--duplicates", "150%")
    assert code == 2 and "--duplicates must be between 0 and 1" in err
    code, _, err = await run_cli("load", "--url", url, "--secret", SECRET, "--reorder-window", "soon")
    assert code == 2 and "--reorder-window: duration must look like" in err
