"""Known answers and properties of Toast-Signature (spec section 4)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import signing

KAT_BODY = (
    b'{"timestamp":"2019-09-16T21:01:53.685Z","eventCategory":"menus","eventType":"menus_updated",'
    b'"guid":"00000000-0000-0000-0000-000000000000","details":{"restaurantGuid":'
    b'"00000000-1111-2222-3333-444444444444","publishedDate":"2021-10-06T20:11:01.737Z"}}'
)
KAT_SIGNATURE = "2B+uR/tOIoHgw9Ryf8JqxL3ejbMhihsdOQSnufjR060="
CAFE_BODY = '{"timestamp":"2024-01-01T00:00:00.000Z","details":{"restaurantName":"Café Olé"}}'

# Vectors of our own, cross-checked with `openssl dgst -sha256 -hmac KEY -binary | base64`.
VECTORS = [
    ("test-secret", KAT_BODY, "2019-09-16T21:01:53.685Z", KAT_SIGNATURE),
    ("test-secret", CAFE_BODY.encode(), "2024-01-01T00:00:00.000Z",
     "Cq/uK8oqgQQSMYcCW5Bqer5dAnZcA+wCzNb2zIKt6R8="),
    ("clé-secrète", b"{}", "2024-01-01T00:00:00.000Z",
     "z+6m1y4dboGEbsssn2z+cLrKUYAp1tvfS4dYo6ajWBo="),
]


@pytest.mark.parametrize(("secret", "body", "timestamp", "expected"), VECTORS)
def test_known_answers(secret: str, body: bytes, timestamp: str, expected: str) -> None:
    assert signing.sign(secret, body, timestamp) == expected
    assert signing.verify(secret, body, expected, timestamp) == secret


def test_verify_takes_timestamp_from_body() -> None:
    assert signing.verify("test-secret", KAT_BODY, KAT_SIGNATURE) == "test-secret"


def test_verify_accepts_any_of_several_secrets_and_returns_the_match() -> None:
    assert signing.verify(["old", "test-secret", "new"], KAT_BODY, KAT_SIGNATURE) == "test-secret"


def test_reserialised_json_does_not_verify() -> None:
    reencoded = json.dumps(json.loads(KAT_BODY)).encode()  # spaces after separators
    with pytest.raises(signing.SignatureMismatch):
        signing.verify("test-secret", reencoded, KAT_SIGNATURE)


@pytest.mark.parametrize(
    ("signature", "error", "reason"),
    [
        (None, signing.MissingSignature, "missing_signature"),
        ("", signing.MissingSignature, "missing_signature"),
        ("abc", signing.MalformedSignature, "malformed_signature"),
        ("!" * 44, signing.MalformedSignature, "malformed_signature"),
        ("2B+uR/tOIoHgw9Ryf8JqxL3ejbMhihsdOQSnufjR06==", signing.MalformedSignature,
         "malformed_signature"),
        (b"\xff" * 44, signing.MalformedSignature, "malformed_signature"),
        ("A" * 43 + "=", signing.SignatureMismatch, "signature_mismatch"),
    ],
)
def test_bad_signatures_raise_named_errors(signature, error, reason) -> None:
    with pytest.raises(error) as info:
        signing.verify("test-secret", KAT_BODY, signature)
    assert info.value.reason == reason
    assert isinstance(info.value, signing.SignatureError)
    assert str(info.value)


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"timestamp": 5}', b"{}", b"\xff\xfe"])
def test_body_without_timestamp_is_a_body_error(body: bytes) -> None:
    with pytest.raises(signing.BodyError):
        signing.verify("test-secret", body, KAT_SIGNATURE)


def test_no_secrets_is_an_error() -> None:
    with pytest.raises(signing.NoSecret):
        signing.verify([], KAT_BODY, KAT_SIGNATURE)


def test_new_secret_is_printable_random_and_long() -> None:
    secrets = {signing.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(s) == 32 and s.isascii() and s.isalnum() for s in secrets)
    with pytest.raises(ValueError):
        signing.new_secret(8)


# Lone surrogates included (a JSON "\\ud800" escape parses to one): signing never raises.
texts = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40)


def test_a_lone_surrogate_timestamp_signs_as_its_wtf8_bytes() -> None:
    body = b'{"timestamp":"\\ud800"}'
    assert signing.timestamp_of(body) == "\ud800"
    assert signing.sign("s", body, "\ud800") == signing.sign("s", body + b"\xed\xa0\x80", "")
    assert signing.verify("s", body, signing.sign("s", body, "\ud800")) == "s"


@given(secret=texts, body=st.binary(max_size=512), timestamp=texts)
def test_sign_verify_round_trips(secret: str, body: bytes, timestamp: str) -> None:
    signature = signing.sign(secret, body, timestamp)
    assert len(signature) == signing.SIGNATURE_LENGTH
    assert signing.verify(secret, body, signature, timestamp) == secret


@given(secret=texts, body=st.binary(min_size=1, max_size=256), timestamp=texts, data=st.data())
def test_any_changed_byte_fails(secret: str, body: bytes, timestamp: str, data) -> None:
    signature = signing.sign(secret, body, timestamp)
    which = data.draw(st.sampled_from(["body", "timestamp", "secret"]))
    if which == "body":
        i = data.draw(st.integers(0, len(body) - 1))
        flip = data.draw(st.integers(1, 255))
        body = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    elif which == "timestamp":
        timestamp = timestamp + data.draw(st.characters())
    else:
        # Not NUL: HMAC zero-pads keys shorter than a block, so "k" and "k\x00" are one key.
        secret = secret + data.draw(st.characters(exclude_characters="\x00"))
    with pytest.raises(signing.SignatureMismatch):
        signing.verify(secret, body, signature, timestamp)
