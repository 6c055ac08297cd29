"""--junit on check, load and predict: valid JUnit XML (junit-10.xsd), one case per check/rule.

The schema is the Jenkins xUnit plugin's junit-10.xsd, vendored beside this file (its source is
in its header); xmlschema validates against it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from hooksim.commands.junit import Case, document
from tests.endpoint_check.test_probe import NAMES, SIGNATURE_CASES
from tests.endpoints import SECRET, answering, run_cli, verifying

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))


def valid_cases(path: Path) -> dict[str, str]:
    """Validates ``path`` against the schema; each test case's name -> its outcome."""
    SCHEMA.validate(str(path))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    outcomes = {}
    for case in suite.iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = kinds[0] if kinds else "passed"
    counted = {tag: sum(1 for o in outcomes.values() if o == tag) for tag in ("failure", "error", "skipped")}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        str(len(outcomes)), str(counted["failure"]), str(counted["error"]), str(counted["skipped"]))
    return outcomes


def test_the_schema_refuses_what_it_should() -> None:
    """The vendored schema is no rubber stamp: a suite without its counts is refused."""
    good = document("hooksim check", [Case("a", "failed", "why <&> \"quoted\"")], seconds=1.5)
    SCHEMA.validate(good.decode())
    bad = good.replace(b' tests="1"', b"", 2)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(bad.decode())


async def test_check_junit_one_case_per_check(receiver_url: str, endpoint, tmp_path: Path) -> None:
    path = tmp_path / "check.xml"
    code, out, err = await run_cli("check", "--url", receiver_url, "--secret", SECRET,
                                   "--junit", str(path))
    assert code == 0, out + err
    outcomes = valid_cases(path)
    assert list(outcomes) == NAMES
    assert outcomes["previous-secret"] == "skipped"
    assert set(outcomes.values()) == {"passed", "skipped"}
    assert SECRET not in path.read_text()

    code, out, err = await run_cli("check", "--url", await endpoint(answering(200)),
                                   "--secret", SECRET, "--junit", str(path))
    assert code == 1
    failures = [name for name, outcome in valid_cases(path).items() if outcome == "failure"]
    assert failures == [name for name in SIGNATURE_CASES if name != "previous-secret"]


@pytest.mark.parametrize(("error_rate", "fail_on", "code", "expected"), [
    ("0", "stop", 0, {"pause-rule": "passed", "stop-rule": "passed"}),
    ("100%", "stop", 1, {"pause-rule": "failure", "stop-rule": "failure"}),
    ("100%", "pause", 1, {"pause-rule": "failure", "stop-rule": "failure"}),
])
async def test_predict_junit_one_case_per_rule(tmp_path: Path, error_rate: str, fail_on: str,
                                               code: int, expected: dict[str, str]) -> None:
    path = tmp_path / "predict.xml"
    got, out, err = await run_cli("predict", "--rate", "20/s", "--error-rate", error_rate,
                                  "--latency-ms", "0", "--duration", "15m", "--fail-on", fail_on,
                                  "--junit", str(path))
    assert got == code, out + err
    assert valid_cases(path) == expected


async def test_fail_on_pause_fails_a_run_that_paused_but_never_stopped(tmp_path: Path) -> None:
    path = tmp_path / "predict.xml"
    args = ["predict", "--rate", "1/s", "--error-rate", "100%", "--latency-ms", "0",
            "--duration", "6m", "--junit", str(path)]
    code, out, err = await run_cli(*args)
    assert code == 0 and "never stopped" in out, out + err
    assert valid_cases(path) == {"pause-rule": "failure", "stop-rule": "passed"}
    code, out, err = await run_cli(*args, "--fail-on", "pause")
    assert code == 1, out + err


async def test_load_junit_judges_the_rules_and_the_timing(endpoint, tmp_path: Path) -> None:
    path = tmp_path / "load.xml"
    url = await endpoint(verifying())
    code, out, err = await run_cli("load", "--url", url, "--secret", SECRET, "--rate", "2/s",
                                   "--duration", "2m", "--junit", str(path))
    assert code == 0, out + err
    outcomes = valid_cases(path)
    assert outcomes["pause-rule"] == outcomes["stop-rule"] == "passed"
    # a starved machine says so: an error (could not judge), never a pass it cannot vouch for
    assert outcomes["exact-timing"] in ("passed", "error")
    assert 'name="url"' in path.read_text()


async def test_junit_to_an_unwritable_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = await run_cli("predict", "--error-rate", "0", "--duration", "1m",
                                 "--junit", str(tmp_path / "missing" / "x.xml"))
    assert code == 2 and "cannot write" in err and "Traceback" not in err
