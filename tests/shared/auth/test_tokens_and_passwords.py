from __future__ import annotations

from datetime import timedelta

import pytest

from shared.auth.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from shared.auth.tokens import hash_token_secret, looks_like_token, new_token_secret, parse_duration


class TestTokenSecrets:
    def test_secret_has_the_prefix_and_256_bits(self) -> None:
        secret = new_token_secret()
        assert secret.startswith("pypi-") and looks_like_token(secret)
        assert new_token_secret() != secret

    def test_only_the_hash_is_kept_and_it_is_stable(self) -> None:
        secret = new_token_secret()
        assert hash_token_secret(secret) == hash_token_secret(secret)
        assert secret not in hash_token_secret(secret)

    @pytest.mark.parametrize("text", ["pypi-short", "pypi-" + "a" * 43 + "\n", "token-" + "a" * 43, ""])
    def test_malformed_secrets_are_not_tokens(self, text: str) -> None:
        assert not looks_like_token(text)

    @pytest.mark.parametrize(("text", "expected"), [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)),
                                                   ("90m", timedelta(minutes=90)), ("2w", timedelta(weeks=2))])
    def test_durations(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["0d", "30", "d", "-1d", "1y"])
    def test_bad_durations(self, text: str) -> None:
        with pytest.raises(ValueError, match="Invalid duration"):
            parse_duration(text)


class TestPasswords:
    def test_round_trip(self) -> None:
        stored = hash_password("correct horse battery")
        assert stored.startswith("$argon2")
        assert verify_password(stored, "correct horse battery")
        assert not verify_password(stored, "wrong horse battery")

    def test_length_limits(self) -> None:
        with pytest.raises(ValueError):
            hash_password("short")
        with pytest.raises(ValueError):
            hash_password("x" * (MAX_PASSWORD_LENGTH + 1))
        assert not verify_password(hash_password("correct horse battery"), "x" * (MAX_PASSWORD_LENGTH + 1))

    def test_missing_or_corrupt_hash_never_verifies(self) -> None:
        assert not verify_password(None, "anything at all")
        assert not verify_password("not-a-hash", "anything at all")
