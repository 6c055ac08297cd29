"""receiver.envelope: the fast JSON path gives exactly the standard library's verdicts."""

from __future__ import annotations

import json

import orjson
import pytest

from receiver import envelope
from tests.receiver.conftest import SECRET, envelope as make_body, signed


@pytest.mark.parametrize("extra", [
    b'"n": NaN',                      # orjson refuses, json accepts
    b'"s": "\\ud800"',                # a lone surrogate escape
])
def test_bodies_only_the_standard_library_parses_are_still_accepted(extra: bytes) -> None:
    body = make_body().replace(b"{", b"{" + extra + b", ", 1)
    json.loads(body)   # the premise: the standard library takes it...
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)   # ...and orjson does not
    checked = envelope.check(body, (SECRET,), signed(body)["Toast-Signature"])
    assert (checked.status, checked.verified, checked.reason) == (200, True, None)
    assert checked.envelope.guid is not None


def test_utf16_json_is_parsed_as_the_standard_library_does() -> None:
    body = make_body().decode().encode("utf-16")
    parsed, problem = envelope.parse_envelope(body)
    assert problem is None and parsed.guid is not None


@pytest.mark.parametrize("body", [b"not json", b"{", b'{"a": 1,}', b"\xff\xfe\x00garbage"])
def test_what_neither_parses_is_not_json_with_the_standard_librarys_reason(body: bytes) -> None:
    parsed, problem = envelope.parse_envelope(body)
    assert problem is not None and problem[0] == "not_json"
    with pytest.raises(ValueError) as stdlib:
        json.loads(body)
    assert str(stdlib.value) in problem[1]
