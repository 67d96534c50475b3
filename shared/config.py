"""Typed settings for the whole suite (prefix ``WHEELHOUSE_``).

Settings are built once by the composition root (``wheelhouse serve``,
``python -m services.<svc>``) and passed down; nothing reads the environment at
import time.  Every variable is listed in the README's settings reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
GiB = 1024 * MiB


class SharedSettings(BaseSettings):
    """What every service needs: where the data lives and how to reach it."""

    model_config = SettingsConfigDict(
        env_prefix="WHEELHOUSE_", extra="ignore", env_file=None, secrets_dir=None
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    # sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db; default: <data_dir>/wheelhouse.sqlite3
    database_url: str = ""
    database_pool_size: int = 10
    # file:///abs/path, a plain path, memory://, or s3://bucket[/prefix]; default: <data_dir>/files
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Absolute base for file URLs in the JSON API (e.g. https://files.example.org); default: the request's own origin.
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_format: Literal["auto", "json", "console"] = "auto"  # auto: console at a terminal, else JSON
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _fill_defaults(self) -> SharedSettings:
        data_dir = self.data_dir.expanduser().resolve()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{data_dir / 'wheelhouse.sqlite3'}")
        if not self.storage_url:
            object.__setattr__(self, "storage_url", (data_dir / "files").as_uri())
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def s3_options(self) -> dict[str, object]:
        return {
            "endpoint_url": self.s3_endpoint_url,
            "region": self.s3_region,
            "access_key_id": self.s3_access_key_id,
            "secret_access_key": self.s3_secret_access_key,
        }


class UploadSettings(SharedSettings):
    """Limits and policy of the upload service."""

    max_file_size: int = Field(default=100 * MiB, ge=1)  # UPL-12
    max_project_size: int = Field(default=10 * GiB, ge=1)  # UPL-12
    hard_max_file_size: int = Field(default=1 * GiB, ge=1)  # UPL-12 ceiling for per-project raises
    allow_local_versions: bool = False  # VER-4
    allow_linux_platform: bool = False  # WHL-6
    allow_direct_references: bool = False  # CMD-6
    # Where uploads are spooled (created on first use). Default: <data_dir>/tmp with local storage, so
    # that storing an upload is a rename on the same filesystem; the system temp dir with other storage.
    upload_tmp_dir: Path | None = None

    @model_validator(mode="after")
    def _default_upload_tmp_dir(self) -> UploadSettings:
        if self.upload_tmp_dir is None and _is_local_storage(self.storage_url):
            object.__setattr__(self, "upload_tmp_dir", self.data_dir / "tmp")
        return self


def _is_local_storage(storage_url: str) -> bool:
    """A plain path or a file:// URL (empty: the default, <data_dir>/files), as open_storage reads it."""
    return not storage_url or storage_url.startswith("file:") or "://" not in storage_url


class SimpleSettings(SharedSettings):
    """Cache lifetimes of the read side (DESIGN.md "Reads")."""

    page_max_age: int = 600  # Cache-Control max-age for clients on index pages
    page_surrogate_max_age: int = 86400  # edge keeps index pages until purged, at most this long
    stale_if_error: int = 86400 * 5
    stale_while_revalidate: int = 300


class ServeSettings(UploadSettings, SimpleSettings):
    """Everything the embedded default needs in one process."""
