"""load: the real dispatcher engine against local servers, on the platform clock.

No tolerance for machine load: platform time stands still while the engine works and runs at
wall speed only while an attempt is in flight, so the same endpoint gives the same verdict at
any time scale, busy machine or not (``make test`` runs this module again beside two CPU hogs).
What a real endpoint adds is its real latency, which counts one to one as on the platform.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from aiohttp import web

from dispatcher.backoff import PRESETS
from loadtest.predict import Model, predict
from loadtest.run import LoadOptions, run_load
from loadtest.scenario import Scenario
from tests.endpoints import SECRET, answering, flaky, run_cli, verifying

RULES = PRESETS["current"]
# An endpoint answering after LATENCY: its moments sit between the 50 ms event grid's lines, so
# the few milliseconds a real exchange adds cannot move a decision across one.
LATENCY = 0.02


def pause_moments(data: dict) -> list[float]:
    return [p["at"] for p in data["pauses"]]


def slack(data: dict) -> float:
    """What a run may be off by beyond the rules' own tolerance: nothing when it was exact; on
    a starved machine (a moment met late while an attempt was in flight) as late as it says it
    was, and then its verdict must say INEXACT instead of naming one."""
    timing = data["timing"]
    if timing["exact"]:
        return 0.0
    assert timing["lateSeconds"] > 0.1 and data["verdict"].startswith("INEXACT: "), data["verdict"]
    return timing["lateSeconds"]


async def test_a_healthy_endpoint_never_pauses(endpoint, storage_settings) -> None:
    url = await endpoint(verifying())   # every event arrives signed with the caller's secret
    report = await run_load(LoadOptions(url, SECRET, Scenario(10, 120),
                                        storage=storage_settings))
    data = report.data
    assert data["events"] == 1200, data
    assert data["attempts"] == data["successes"] == 1200, json.dumps({k: v for k, v in data.items() if k != "timeline"})
    assert data["errors"] == data["notSent"] == data["pendingAtEnd"] == 0
    if not slack(data):
        assert data["verdict"] == "never paused; peak 0 errors in any 5-minute window (limit 50)"
    assert data["latencyMs"]["p50"] is not None and data["timeline"][0]["attempts"] > 0


async def test_a_dead_endpoint_pauses_and_stops_when_predict_says_at_any_time_scale(
        endpoint) -> None:
    url = await endpoint(answering(500, after=LATENCY))
    scenario = Scenario(20, 900)
    model = predict(scenario, Model(error_rate=1.0, latency=LATENCY), RULES).data
    runs = [(await run_load(LoadOptions(url, SECRET, scenario, time_scale=scale))).data
            for scale in (None, 300)]

    for data in runs:
        late = slack(data)
        assert data["successes"] == 0 and set(data["errorsByKind"]) == {"500"}
        assert data["pauses"][0]["errorsInWindow"] == 50
        assert len(data["pauses"]) == len(model["pauses"]) == 8 and data["pausesAtStop"] == 9
        for seen, expected in zip(pause_moments(data), pause_moments(model)):
            assert seen == pytest.approx(expected, abs=0.1 + late)
        assert data["stoppedAt"] == pytest.approx(model["stoppedAt"], abs=1.0 + late)
        if not late:
            assert data["verdict"] == model["verdict"]
        assert data["notSent"] > 0   # events made while paused or stopped were not sent
    uncapped, capped = runs
    late = slack(uncapped) + slack(capped)
    assert capped["stoppedAt"] == pytest.approx(uncapped["stoppedAt"], abs=1.0 + late)
    assert pause_moments(capped) == pytest.approx(pause_moments(uncapped), abs=0.1 + late)
    assert capped["events"] == uncapped["events"]
    # Exact runs make the same attempts; a run met late by L s may have moved a pause's start or
    # end by up to L s, so by at most the L s of events (20/s) that fell on the other side of it.
    assert abs(capped["attempts"] - uncapped["attempts"]) <= 20 * late + (0 if not late else 2)
    assert uncapped["timing"]["compression"] > 10   # idle gaps skipped: 8 minutes, not 8 minutes


async def test_a_slow_endpoint_times_out_and_pauses_when_the_platform_would(endpoint) -> None:
    """Every attempt takes the 2 s timeout: attempts overlap, and platform time can only run at
    wall speed; the first pause still comes at the 50th timeout (2.45 s + 2 s)."""
    in_flight, most = 0, 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await answering(200, after=2.5)(request)
        finally:
            in_flight -= 1

    url = await endpoint(slow)
    scenario = Scenario(20, 5)
    data = (await run_load(LoadOptions(url, SECRET, scenario, timeout=2.0))).data
    model = predict(scenario, Model(latency=2.5, timeout=2.0), RULES).data
    assert set(data["errorsByKind"]) == {"timeout"}
    # As on the platform, attempts overlap: 20 a second, each held 2 s, about 40 at once.
    assert most >= 30, most
    assert pause_moments(data)[0] == pytest.approx(pause_moments(model)[0], abs=0.1 + slack(data))
    assert data["timing"]["compression"] <= 1.2   # busy all the time: no compression


async def test_a_30_percent_failing_endpoint_gives_the_same_answers_at_any_time_scale(
        endpoint) -> None:
    scenario = Scenario(20, 150)
    runs = []
    for scale in (None, 100):
        url = await endpoint(flaky(0.3))   # the same seeded answers, in the order asked
        runs.append((await run_load(LoadOptions(url, SECRET, scenario, time_scale=scale))).data)
    model = predict(scenario, Model(error_rate=0.3, latency=0.0), RULES).data
    uncapped, capped = runs
    late = slack(uncapped) + slack(capped)
    if not late:   # the same answers in the same order: the same course, to the attempt
        assert capped["errors"] == uncapped["errors"] and capped["attempts"] == uncapped["attempts"]
        assert pause_moments(capped) == pytest.approx(pause_moments(uncapped), abs=0.1)
        assert uncapped["verdict"].startswith("paused ")
    assert pause_moments(capped)[0] == pytest.approx(pause_moments(uncapped)[0], abs=0.1 + late)
    assert uncapped["errors"] / uncapped["attempts"] == pytest.approx(0.3, abs=0.08)
    # 50 errors at 6 per second: predict's draws are its own, so only about the same moment.
    assert pause_moments(uncapped)[0] == pytest.approx(pause_moments(model)[0], abs=4)
    assert uncapped["stoppedAt"] is None


async def test_a_hanging_endpoint_times_out(endpoint, hanging) -> None:
    url = await endpoint(hanging)
    options = LoadOptions(url, SECRET, Scenario(1, 60), timeout=0.2)
    data = (await run_load(options)).data
    assert data["attempts"] > 0 and data["successes"] == 0
    assert set(data["errorsByKind"]) == {"timeout"}
    assert 200 <= data["latencyMs"]["p50"] < 2000   # wall ms: the 0.2 s read timeout, never less


async def test_stopping_early_still_reports_what_ran(endpoint) -> None:
    stop = asyncio.Event()

    async def stop_at_the_first_arrival(request: web.Request) -> web.Response:
        stop.set()   # as a person's Ctrl-C would, while an attempt is in flight
        return await answering(200)(request)

    url = await endpoint(stop_at_the_first_arrival)
    data = (await run_load(LoadOptions(url, SECRET, Scenario(5, 3600), time_scale=60),
                           stop=stop)).data
    assert data["interrupted"] is True
    assert 0 < data["ranFor"] < 3600 and data["successes"] > 0


async def test_cli_writes_the_report_and_plot_and_exits_1_when_stopped(endpoint, tmp_path: Path) -> None:
    url = await endpoint(answering(503))
    report, plot = tmp_path / "report.json", tmp_path / "timeline.png"
    code, out, err = await run_cli(
        "load", "--url", url, "--secret", SECRET, "--preset", "legacy", "--rate", "1/s",
        "--duration", "5m", "--time-scale", "200", "--report", str(report), "--plot", str(plot))
    assert code == 1, err
    data = json.loads(report.read_text())
    for key in ("attempts", "successes", "errors", "notSent", "pauses", "stoppedAt", "verdict"):
        assert key in data
    # Legacy rules: 3 errors in 1 min pause; the 3rd pause within 200 s stops.
    assert data["pausesAtStop"] == 3 and data["pauses"][0]["errorsInWindow"] == 3
    assert data["verdict"] in out and "STOPPED" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_ctrl_c_ends_the_run_and_still_prints_the_summary(endpoint) -> None:
    arrived = asyncio.Event()

    async def first_arrival_marks(request: web.Request) -> web.Response:
        arrived.set()
        return await answering(200)(request)

    url = await endpoint(first_arrival_marks)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", "load", "--url", url, "--secret", SECRET, "--rate", "2/s",
        "--duration", "1h", "--time-scale", "10",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    # Ctrl-C once the run is delivering (start-up takes what the machine gives it).
    await asyncio.wait_for(arrived.wait(), 60)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()
    assert "(interrupted)" in out.decode() and "never paused" in out.decode()


@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "abc"], "rate must look like"),
    (["--duration", "soon"], "duration must look like"),
    (["--time-scale", "0"], "--time-scale must be positive"),
    (["--plot", "timeline.gif"], "--plot must end in .png or .svg"),
])
async def test_cli_bad_usage_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = await run_cli("load", "--url", "http://127.0.0.1:9/hook", "--secret", "s",
                                   *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


async def test_cli_refuses_a_url_that_is_not_http() -> None:
    code, _, err = await run_cli("load", "--url", "ftp://example.com/x", "--secret", "s",
                                 "--duration", "1s")
    assert code == 2 and "url must be an absolute http or https URL" in err


async def test_cli_predict_agrees_with_the_rules() -> None:
    code, out, err = await run_cli("predict", "--rate", "20/s", "--error-rate", "100%",
                                   "--latency-ms", "0", "--duration", "15m")
    assert code == 1, err
    assert "STOPPED at 00:08:04 platform time after 9 pauses" in out
