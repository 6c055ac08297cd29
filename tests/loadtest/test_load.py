"""load: the real dispatcher engine against local servers, at high time scale.

Timing tolerance. At ``time_scale`` S every wall millisecond the engine spends (claiming,
the HTTP round trip, recording) is S platform milliseconds. Each pause-and-resume cycle waits for
one such reaction, so a stop comes later than the zero-latency rules imply by at most
``pauses_to_stop`` x (allowance per reaction, 0.15 s wall) x S, and never earlier.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from dispatcher.backoff import PRESETS
from dispatcher.loadtest.predict import Model, predict
from dispatcher.loadtest.run import LoadOptions, run_load
from dispatcher.loadtest.scenario import Scenario
from tests.loadtest.conftest import SECRET, answering, flaky, run_cli, verifying

RULES = PRESETS["current"]
REACTION_WALL = 0.15     # seconds of wall time one engine reaction may take on a busy test host


async def test_a_healthy_endpoint_never_pauses(endpoint, storage_settings) -> None:
    url = await endpoint(verifying())   # every event arrives signed with the caller's secret
    report = await run_load(LoadOptions(url, SECRET, Scenario(10, 120), time_scale=200,
                                        storage=storage_settings))
    data = report.data
    assert data["events"] == 1200, data
    assert data["attempts"] == data["successes"] == 1200, json.dumps({k: v for k, v in data.items() if k != "timeline"})
    assert data["errors"] == data["notSent"] == data["pendingAtEnd"] == 0
    assert data["verdict"] == "never paused; peak 0 errors in any 5-minute window (limit 50)"
    assert data["latencyMs"]["p50"] is not None and data["timeline"][0]["attempts"] > 0


async def test_a_dead_endpoint_at_20_per_second_pauses_at_its_50th_error_and_stops_at_its_9th_pause(
        endpoint) -> None:
    url = await endpoint(answering(500))
    scale = 100
    scenario = Scenario(20, 900)
    data = (await run_load(LoadOptions(url, SECRET, scenario, time_scale=scale))).data
    ideal = predict(scenario, Model(error_rate=1.0, latency=0.0), RULES).data

    assert data["successes"] == 0 and set(data["errorsByKind"]) == {"500"}
    assert data["pauses"][0]["errorsInWindow"] == 50
    assert data["pauses"][0]["at"] >= ideal["pauses"][0]["at"] - 0.05   # not before the 50th error
    assert len(data["pauses"]) == 8 and data["pausesAtStop"] == 9
    slack = RULES.pauses_to_stop * REACTION_WALL * scale
    assert ideal["stoppedAt"] - 1 <= data["stoppedAt"] <= ideal["stoppedAt"] + slack
    assert data["verdict"].startswith("STOPPED at 00:0") and data["verdict"].endswith("after 9 pauses")
    assert data["notSent"] > 0   # events made while paused or stopped were not sent


async def test_a_30_percent_failing_endpoint_is_paused_like_predict_says(endpoint) -> None:
    url = await endpoint(flaky(0.3))
    scale = 100
    scenario = Scenario(20, 150)
    data = (await run_load(LoadOptions(url, SECRET, scenario, time_scale=scale))).data
    model = predict(scenario, Model(error_rate=0.3, latency=0.0), RULES).data

    assert data["errors"] / data["attempts"] == pytest.approx(0.3, abs=0.08)
    assert data["pauses"] and data["pauses"][0]["errorsInWindow"] == 50
    # 50 errors at 6 per second: the first pause about 8 s in, late by at most a few reactions.
    first, expected = data["pauses"][0]["at"], model["pauses"][0]["at"]
    assert expected - 4 <= first <= expected + 4 + 3 * REACTION_WALL * scale
    assert data["stoppedAt"] is None and data["verdict"].startswith("paused ")


async def test_a_hanging_endpoint_times_out(endpoint, hanging) -> None:
    url = await endpoint(hanging)
    options = LoadOptions(url, SECRET, Scenario(1, 60), time_scale=100, timeout=0.2)
    data = (await run_load(options)).data
    assert data["attempts"] > 0 and data["successes"] == 0
    assert set(data["errorsByKind"]) == {"timeout"}
    assert data["latencyMs"]["p50"] == pytest.approx(200, abs=100)   # wall ms: the read timeout


async def test_stopping_early_still_reports_what_ran(endpoint) -> None:
    url = await endpoint(answering(200))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
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
    url = await endpoint(answering(200))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", "load", "--url", url, "--secret", SECRET, "--rate", "2/s",
        "--duration", "1h", "--time-scale", "10",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    await asyncio.sleep(2.5)   # start-up, then a few platform seconds of events
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
