"""Whatever arrives at /hooks/{name} (any bytes, any headers), the answer is never a 5xx."""

from __future__ import annotations

import asyncio
import json
import string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signing
from tests.receiver.conftest import SECRET, Harness, MakeReceiver

# Framing headers would make the client itself refuse or re-frame the request.
_FRAMING = {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade"}
_TOKEN = st.text(st.sampled_from(string.ascii_letters + string.digits + "-_"), min_size=1,
                 max_size=20)
_VALUE = st.one_of(
    st.sampled_from(["gzip", "deflate", "br", "application/json", "A" * 43 + "="]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
            max_size=60))
_HEADERS = st.dictionaries(
    st.one_of(_TOKEN, st.sampled_from(["Toast-Signature", "Content-Type", "Content-Encoding"])),
    _VALUE, max_size=6).map(lambda h: {k: v for k, v in h.items() if k.lower() not in _FRAMING})
_ENVELOPE = st.fixed_dictionaries({
    "timestamp": st.one_of(st.text(max_size=30), st.integers()),
    "eventCategory": st.text(max_size=20), "eventType": st.text(max_size=20),
    "guid": st.one_of(st.text(max_size=40), st.none()),
    "details": st.one_of(st.dictionaries(st.text(max_size=10), st.text(max_size=10)),
                         st.lists(st.integers()))})
_BODY = st.one_of(
    st.binary(max_size=300),
    st.integers(4000, 4200).map(lambda n: b"{" * n),  # around the 4096-byte limit
    st.text(max_size=200).map(str.encode),
    _ENVELOPE.map(lambda e: json.dumps(e, ensure_ascii=False).encode("utf-8", "surrogatepass")),
)
EXPECTED = {200, 400, 401, 404, 413}


async def post(h: Harness, name: str, body: bytes, headers: dict[str, str],
               sign: bool) -> int:
    if sign:
        try:
            headers["Toast-Signature"] = signing.sign(SECRET, body, signing.timestamp_of(body))
        except signing.SignatureError:
            pass
    async with h.client.post(f"/hooks/{name}", data=body, headers=headers) as response:
        # aiohttp's own parser answers a few framing/decoding errors (plain-text 400) before
        # any handler runs; every answer of the receiver's is a JSON object.
        if response.content_type == "application/json":
            assert isinstance(await response.json(), dict)
        else:
            assert response.status == 400
        return response.status


async def test_arbitrary_requests_never_get_a_5xx(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    loop = asyncio.get_running_loop()

    # Hypothesis drives synchronous tests, so it runs in a thread and sends each request through
    # this test's event loop, where the server lives.
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(name=st.sampled_from(["orders", "orders", "rotating", "open", "open", "nobody",
                                 "a%2Fb", "é"]),
           body=_BODY, headers=_HEADERS, sign=st.booleans())
    def check(name: str, body: bytes, headers: dict[str, str], sign: bool) -> None:
        status = asyncio.run_coroutine_threadsafe(post(h, name, body, headers, sign), loop).result()
        assert status in EXPECTED, (status, body[:100], headers)

    await asyncio.to_thread(check)
    assert (await h.get("/api/messages", limit=1))["messages"]  # and they were stored
