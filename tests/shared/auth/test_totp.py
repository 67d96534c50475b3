from __future__ import annotations

import base64
import hashlib
import random
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from shared.auth.totp import (
    DIGITS,
    STEP_SECONDS,
    code_at,
    hash_recovery_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    normalize_code,
    normalize_recovery_code,
    provisioning_uri,
    time_step,
)

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
NOW = datetime(2030, 6, 1, 12, 0, 10, tzinfo=UTC)


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


class TestSecret:
    def test_secret_is_160_bits_of_unpadded_base32(self) -> None:
        secret = new_secret()
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20
        assert new_secret() != secret


class TestCodes:
    def test_constants(self) -> None:
        assert (STEP_SECONDS, DIGITS) == (30, 6)

    def test_codes_match_pyotp(self) -> None:
        rng = random.Random(6238)
        for _ in range(200):
            secret = new_secret()
            moment = _at(rng.randrange(0, 4_000_000_000))
            assert code_at(secret, time_step(moment)) == pyotp.TOTP(secret).at(moment)

    @pytest.mark.parametrize(
        ("timestamp", "eight_digits"),
        [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ],
    )
    def test_rfc_6238_appendix_b_sha1_vectors(self, timestamp: int, eight_digits: str) -> None:
        assert code_at(RFC_SECRET, time_step(_at(timestamp))) == eight_digits[-6:]

    def test_time_step_boundaries(self) -> None:
        assert time_step(_at(59)) == 1
        assert time_step(_at(60)) == 2
        assert time_step(_at(0)) == 0

    def test_time_step_needs_an_aware_datetime(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            time_step(datetime(2030, 1, 1))

    def test_lowercase_secret_gives_the_same_codes(self) -> None:
        assert code_at(RFC_SECRET.lower(), 1) == code_at(RFC_SECRET, 1)


class TestNormalizeCode:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("123456", "123456"),
            ("123 456", "123456"),
            ("123-456", "123456"),
            ("123.456", "123456"),
            (" 123456 ", "123456"),
            ("\t123\t456\n", "123456"),
            ("012345", "012345"),
            ("12345", None),
            ("1234567", None),
            ("12345a", None),
            ("", None),
            ("١٢٣٤٥٦", None),
            ("１２３４５６", None),
            ("123\u00a0456", None),
            ("123_456", None),
            ("1" * 100, None),
        ],
    )
    def test_normalisation(self, text: str, expected: str | None) -> None:
        assert normalize_code(text) == expected


class TestMatchingStep:
    def _code(self, secret: str, offset: int) -> str:
        return code_at(secret, time_step(NOW) + offset)

    @pytest.mark.parametrize("offset", [-1, 0, 1])
    def test_codes_within_the_window_match(self, offset: int) -> None:
        secret = new_secret()
        assert matching_step(secret, self._code(secret, offset), now=NOW) == time_step(NOW) + offset

    @pytest.mark.parametrize("offset", [-2, 2])
    def test_codes_outside_the_window_do_not(self, offset: int) -> None:
        secret = RFC_SECRET
        code = self._code(secret, offset)
        assert all(self._code(secret, near) != code for near in (-1, 0, 1))
        assert matching_step(secret, code, now=NOW) is None

    def test_wider_window(self) -> None:
        secret = new_secret()
        assert matching_step(secret, self._code(secret, -2), now=NOW, window=2) == time_step(NOW) - 2

    def test_zero_window_accepts_only_the_current_step(self) -> None:
        assert matching_step(RFC_SECRET, self._code(RFC_SECRET, 0), now=NOW, window=0) == time_step(NOW)
        assert matching_step(RFC_SECRET, self._code(RFC_SECRET, 1), now=NOW, window=0) is None

    def test_typed_code_is_normalised(self) -> None:
        code = self._code(RFC_SECRET, 0)
        assert matching_step(RFC_SECRET, f" {code[:3]} {code[3:]} ", now=NOW) == time_step(NOW)

    def test_garbage_does_not_match(self) -> None:
        assert matching_step(RFC_SECRET, "abcdef", now=NOW) is None

    def test_negative_window_is_refused(self) -> None:
        with pytest.raises(ValueError):
            matching_step(RFC_SECRET, "123456", now=NOW, window=-1)

    def test_matches_what_pyotp_shows_now(self) -> None:
        secret = new_secret()
        assert matching_step(secret, pyotp.TOTP(secret).at(NOW + timedelta(seconds=25)), now=NOW) is not None


class TestProvisioningUri:
    @pytest.mark.parametrize(
        ("issuer", "account"),
        [("Wheelhouse", "alice"), ("Wheel House & Co", "alice@example.com"), ("ACME: Builds", "bob:smith/100%")],
    )
    def test_pyotp_parses_it_back(self, issuer: str, account: str) -> None:
        secret = new_secret()
        parsed = pyotp.parse_uri(provisioning_uri(secret, account=account, issuer=issuer))
        assert isinstance(parsed, pyotp.TOTP)
        assert (parsed.secret, parsed.issuer, parsed.name) == (secret, issuer, account)
        assert (parsed.digits, parsed.interval, parsed.digest) == (6, 30, hashlib.sha1)

    def test_shape(self) -> None:
        uri = provisioning_uri("JBSWY3DPEHPK3PXP", account="alice@example.com", issuer="Wheel House")
        assert uri == (
            "otpauth://totp/Wheel%20House:alice%40example.com?secret=JBSWY3DPEHPK3PXP"
            "&issuer=Wheel%20House&algorithm=SHA1&digits=6&period=30"
        )


class TestRecoveryCodes:
    def test_shape_and_count(self) -> None:
        codes = new_recovery_codes()
        assert len(codes) == 8
        assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)

    def test_codes_are_unique(self) -> None:
        codes = new_recovery_codes(50)
        assert len(set(codes)) == 50
        assert set(codes).isdisjoint(new_recovery_codes(50))

    def test_count_must_be_positive(self) -> None:
        with pytest.raises(ValueError):
            new_recovery_codes(0)

    def test_normalisation(self) -> None:
        assert normalize_recovery_code(" ABCD-efgh ijkl-MNOP\t") == "abcdefghijklmnop"

    def test_hash_is_stable_across_spellings(self) -> None:
        code = new_recovery_codes(1)[0]
        expected = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
        assert hash_recovery_code(code) == expected
        assert hash_recovery_code(code.upper().replace("-", " ")) == expected
        assert hash_recovery_code(code) != hash_recovery_code(new_recovery_codes(1)[0])
