"""``--junit FILE``: results as JUnit XML, the test report format CI systems read.

One ``<testsuite>`` per command run, one ``<testcase>`` per check (``check``) or per platform
rule (``load``, ``predict``). A failed case carries ``<failure>``, one the run could not judge
``<error>``, one not run ``<skipped>``; every case's evidence is in its ``<system-out>``. The
output validates against the Jenkins xUnit plugin's junit-10.xsd (tests/junit).
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Case:
    name: str
    outcome: Outcome
    evidence: str
    seconds: float = 0.0


def document(suite: str, cases: Sequence[Case], *, seconds: float,
             properties: Mapping[str, str] = {}, started: datetime | None = None) -> bytes:
    """The XML bytes of one suite of ``cases``."""
    count = {kind: sum(1 for c in cases if c.outcome == kind) for kind in ("failed", "error", "skipped")}
    root = ET.Element("testsuites", name="hooksim", tests=str(len(cases)),
                      failures=str(count["failed"]), errors=str(count["error"]),
                      time=_time(seconds))
    element = ET.SubElement(root, "testsuite", {
        "name": suite, "tests": str(len(cases)), "failures": str(count["failed"]),
        "errors": str(count["error"]), "skipped": str(count["skipped"]), "time": _time(seconds),
        "timestamp": (started or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": socket.gethostname()})
    if properties:
        props = ET.SubElement(element, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", name=name, value=value)
    classname = suite.replace(" ", ".")
    for case in cases:
        item = ET.SubElement(element, "testcase", name=case.name, classname=classname,
                             time=_time(case.seconds))
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(case.outcome)
        if tag is not None:
            ET.SubElement(item, tag, message=case.evidence, type=case.name).text = case.evidence
        ET.SubElement(item, "system-out").text = case.evidence
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"
