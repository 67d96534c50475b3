from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.auth.signing import BadSignatureError, SignatureExpiredError, sign, unsign

KEY = b"current key"
OLD_KEY = b"previous key"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PAYLOAD = {"user_id": "7d3c", "email": "alice@example.com"}


def _unsign(value: str, *, keys: tuple[bytes, ...] = (KEY,), purpose: str = "verify-email",
            now: datetime = T0) -> dict:
    return unsign(keys, purpose=purpose, value=value, max_age=DAY, now=now)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed_by_hand(body: bytes, *, key: bytes = KEY, purpose: str = "verify-email") -> str:
    text = _b64(body)
    return text + "." + _b64(hmac.digest(key, purpose.encode() + b"\x00" + text.encode(), hashlib.sha256))


def _signed(**kwargs: object) -> str:
    return sign(KEY, purpose="verify-email", payload=PAYLOAD, now=T0, **kwargs)  # type: ignore[arg-type]


class TestSign:
    def test_round_trip(self) -> None:
        assert _unsign(_signed()) == PAYLOAD

    def test_value_is_url_safe_and_unpadded(self) -> None:
        value = _signed()
        body, mac = value.split(".")
        assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        assert decoded == {"p": PAYLOAD, "t": int(T0.timestamp())}
        assert len(base64.urlsafe_b64decode(mac + "=")) == 32

    def test_mac_covers_purpose_nul_and_body(self) -> None:
        body = json.dumps({"p": PAYLOAD, "t": int(T0.timestamp())}, separators=(",", ":"), sort_keys=True)
        assert _signed() == _signed_by_hand(body.encode())

    def test_default_now_is_the_current_time(self) -> None:
        value = sign(KEY, purpose="verify-email", payload={})
        assert unsign([KEY], purpose="verify-email", value=value, max_age=timedelta(minutes=1)) == {}


class TestUnsign:
    def test_rotated_key_still_verifies(self) -> None:
        old = sign(OLD_KEY, purpose="verify-email", payload=PAYLOAD, now=T0)
        assert _unsign(old, keys=(KEY, OLD_KEY)) == PAYLOAD

    def test_retired_key_does_not(self) -> None:
        old = sign(OLD_KEY, purpose="verify-email", payload=PAYLOAD, now=T0)
        with pytest.raises(BadSignatureError):
            _unsign(old, keys=(KEY,))

    def test_wrong_purpose_is_refused(self) -> None:
        with pytest.raises(BadSignatureError) as caught:
            _unsign(_signed(), purpose="reset-password")
        assert not isinstance(caught.value, SignatureExpiredError)

    def test_purpose_is_not_a_prefix_match(self) -> None:
        with pytest.raises(BadSignatureError):
            _unsign(_signed(), purpose="verify-emai")

    def test_tampered_body_is_refused(self) -> None:
        mac = _signed().split(".")[1]
        forged = _b64(json.dumps({"p": {"user_id": "admin"}, "t": int(T0.timestamp())}).encode())
        with pytest.raises(BadSignatureError):
            _unsign(forged + "." + mac)

    def test_tampered_mac_is_refused(self) -> None:
        body, mac = _signed().split(".")
        flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
        with pytest.raises(BadSignatureError):
            _unsign(body + "." + flipped)

    def test_expired_value_is_refused(self) -> None:
        assert _unsign(_signed(), now=T0 + DAY) == PAYLOAD
        with pytest.raises(SignatureExpiredError, match="expired"):
            _unsign(_signed(), now=T0 + DAY + timedelta(seconds=1))

    def test_value_from_the_future_is_refused_beyond_a_minute(self) -> None:
        assert _unsign(_signed(), now=T0 - timedelta(seconds=60)) == PAYLOAD
        with pytest.raises(SignatureExpiredError, match="future"):
            _unsign(_signed(), now=T0 - timedelta(seconds=61))

    def test_expiry_is_a_bad_signature_too(self) -> None:
        with pytest.raises(BadSignatureError):
            _unsign(_signed(), now=T0 + 2 * DAY)

    def test_no_keys_is_a_configuration_error(self) -> None:
        with pytest.raises(ValueError, match="at least one key"):
            _unsign(_signed(), keys=())

    @pytest.mark.parametrize(
        "value",
        [
            "",
            ".",
            "abc",
            "abc.def.ghi",
            "a b.c",
            "abc=.def",
            "a." + "A" * 43,
            "e30." + "A" * 42,
            "e31." + "A" * 43,
            "e30." + "A" * 42 + "B",
            "x" * 5000 + "." + "A" * 43,
            "é.A",
        ],
    )
    def test_malformed_values_are_refused(self, value: str) -> None:
        with pytest.raises(BadSignatureError, match="Malformed"):
            _unsign(value)

    @pytest.mark.parametrize("body", [b"not json", b"[]", b'{"p":{}}', b'{"p":[],"t":1}', b'{"p":{},"t":"1"}',
                                      b'{"p":{},"t":1,"x":2}', b'{"p":{},"t":true}', b"\xff"])
    def test_genuinely_signed_but_malformed_bodies_are_refused(self, body: bytes) -> None:
        with pytest.raises(BadSignatureError) as caught:
            _unsign(_signed_by_hand(body))
        assert not isinstance(caught.value, SignatureExpiredError)
