"""`hooksim predict --subscriptions`: usage errors, the summary, the JSON report, the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.endpoints import run_cli


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", ""])
async def test_a_bad_subscription_count_is_one_line_and_exit_2(value: str) -> None:
    code, out, err = await run_cli("predict", "--error-rate", "0", "--subscriptions", value)
    assert code == 2, out
    assert "--subscriptions must be a whole number of 1 or more" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


async def test_several_subscriptions_one_of_them_stopped_exits_1_with_a_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, err = await run_cli("predict", "--subscriptions", "3", "--rate", "20/s",
                                   "--error-rate", "100%", "--latency-ms", "0", "--duration", "15m",
                                   "--report", str(report))
    assert code == 1, err
    data = json.loads(report.read_text())
    assert data["subscriptions"] == 3 and len(data["perSubscription"]) == 3
    assert data["subscriptionsStopped"] == 3
    assert data["verdict"] == ("STOPPED: 3 of 3 subscriptions stopped, the first at 00:08:04 "
                               "platform time after 9 pauses")
    assert data["verdict"] in out
    assert "subscriptions stopped" in out and "3 x 20/s" in out


async def test_several_healthy_subscriptions_exit_0() -> None:
    code, out, err = await run_cli("predict", "--subscriptions", "50", "--rate", "10/min",
                                   "--error-rate", "0", "--duration", "10m")
    assert code == 0, err
    assert "none of 50 subscriptions paused" in out and "5000" in out   # 50 x 100 events
