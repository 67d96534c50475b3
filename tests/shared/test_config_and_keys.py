"""Settings defaults that depend on the environment, and the suite's secret key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.auth.keys import KEY_FILE, load_secret_keys
from shared.config import AccountsSettings, ServeSettings, SharedSettings

STRONG = "k" * 48


class TestUploadPolicyDefaults:
    def test_off_on_the_embedded_default(self, tmp_path: Path) -> None:
        settings = ServeSettings(data_dir=tmp_path)
        assert settings.upload_requires_2fa is False and settings.upload_requires_verified_email is False

    def test_on_in_production(self, tmp_path: Path) -> None:
        settings = ServeSettings(data_dir=tmp_path, environment="production", secret_key=STRONG)
        assert settings.upload_requires_2fa is True and settings.upload_requires_verified_email is True

    def test_explicit_setting_wins(self, tmp_path: Path) -> None:
        settings = ServeSettings(data_dir=tmp_path, environment="production", secret_key=STRONG,
                                 upload_requires_2fa=False)
        assert settings.upload_requires_2fa is False and settings.upload_requires_verified_email is True


class TestSecretKey:
    @pytest.mark.parametrize("key", [None, "short"])
    def test_production_refuses_a_missing_or_weak_key(self, tmp_path: Path, key: str | None) -> None:
        with pytest.raises(ValidationError, match="WHEELHOUSE_SECRET_KEY"):
            SharedSettings(data_dir=tmp_path, environment="production", secret_key=key)

    def test_development_generates_one_key_and_keeps_it(self, tmp_path: Path) -> None:
        settings = SharedSettings(data_dir=tmp_path / "data")
        first = load_secret_keys(settings)
        assert first == load_secret_keys(settings) and len(first[0]) >= 48
        path = tmp_path / "data" / KEY_FILE
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"

    def test_configured_key_then_fallbacks(self, tmp_path: Path) -> None:
        settings = SharedSettings(data_dir=tmp_path, secret_key=STRONG, secret_key_fallbacks=["old-1", "old-2"])
        assert load_secret_keys(settings) == (STRONG.encode(), b"old-1", b"old-2")
        assert not (tmp_path / KEY_FILE).exists()


class TestAccountsSettings:
    def test_email_dir_defaults_into_the_data_dir(self, tmp_path: Path) -> None:
        assert AccountsSettings(data_dir=tmp_path).email_dir == tmp_path.resolve() / "mail"
