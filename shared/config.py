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

MIN_SECRET_KEY = 32
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
    # Proxies whose X-Forwarded-For / -Proto are believed (addresses or CIDRs, comma-separated): the
    # edge's. The client address rate limits and the audit log see is the nearest one not listed.
    forwarded_allow_ips: str = "127.0.0.1"
    log_format: Literal["auto", "json", "console"] = "auto"  # auto: console at a terminal, else JSON
    log_level: str = "INFO"
    # Signs API tokens, login links and password-reset links. Required in production; in development a
    # random key is generated once into <data_dir>/secret_key. Old keys listed in the fallbacks still verify.
    secret_key: SecretStr | None = None
    secret_key_fallbacks: list[SecretStr] = Field(default_factory=list)
    # Rate-limit counters live in the shared database unless a Redis URL is given (redis://host:6379/0).
    redis_url: str | None = None
    rate_limits_enabled: bool = True
    # Upload policy (as on the public index: on in production, off on the embedded default).
    upload_requires_2fa: bool | None = None  # default: True in production, False in development
    upload_requires_verified_email: bool | None = None  # default: True in production, False in development
    # The bus: consumers read the journal from the database itself ("database", the default), or from a
    # NATS JetStream stream that the relay worker fills from the journal ("nats").
    bus: Literal["database", "nats"] = "database"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream: str = "WHEELHOUSE_JOURNAL"
    nats_subject: str = "wheelhouse.journal"
    nats_replicas: int = Field(default=1, ge=1, le=5)  # copies of the stream in a NATS cluster (3 in production)
    nats_max_age: int = Field(default=7 * 86400, ge=3600)  # seconds the stream keeps an entry
    # Prometheus metrics on a port of their own (unset: not served), apart from the API's port.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # The edge caches the purger keeps fresh: base URLs (http://varnish-0:6081), and/or a DNS name that
    # resolves to every edge pod (a headless Service) with the port they listen on.
    edge_purge_urls: list[str] = Field(default_factory=list)
    edge_purge_dns: str | None = None
    edge_purge_port: int = Field(default=80, ge=1, le=65535)
    # Health and shutdown. /readyz gives each dependency check this long. After SIGTERM, /readyz fails at
    # once; the listener stays open shutdown_drain seconds more (0: in Kubernetes the preStop sleep does
    # this), then closes, and requests in flight get shutdown_timeout seconds to finish.
    readiness_timeout: float = Field(default=2.0, gt=0, le=30)
    shutdown_drain: float = Field(default=0.0, ge=0, le=300)
    shutdown_timeout: float = Field(default=25.0, ge=0)
    # Error reporting to Sentry (sentry-sdk's FastAPI integration) when a DSN is given; off by default.
    sentry_dsn: SecretStr | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    # Search: the SQL full text of the database (default), or an OpenSearch cluster when a URL is given.
    opensearch_url: str | None = None
    opensearch_index: str = "wheelhouse-projects"  # the alias searches read; rebuilds swap it atomically

    @model_validator(mode="after")
    def _fill_defaults(self) -> SharedSettings:
        data_dir = self.data_dir.expanduser().resolve()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{data_dir / 'wheelhouse.sqlite3'}")
        if not self.storage_url:
            object.__setattr__(self, "storage_url", (data_dir / "files").as_uri())
        production = self.environment == "production"
        for policy in ("upload_requires_2fa", "upload_requires_verified_email"):
            if getattr(self, policy) is None:
                object.__setattr__(self, policy, production)
        if production and (self.secret_key is None or len(self.secret_key.get_secret_value()) < MIN_SECRET_KEY):
            raise ValueError(
                f"WHEELHOUSE_SECRET_KEY must be set in production, at least {MIN_SECRET_KEY} characters of "
                "random data (e.g. `openssl rand -base64 48`)."
            )
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
    # A large upload over a slow link takes minutes: after SIGTERM, requests in flight get this long.
    shutdown_timeout: float = Field(default=600.0, ge=0)

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


class AccountsSettings(SharedSettings):
    """Sessions, email, two-factor and trusted publishing (services/accounts)."""

    session_ttl: int = Field(default=1800, ge=60)  # seconds a login session lasts
    email_backend: Literal["file", "console", "smtp"] = "file"
    email_dir: Path | None = None  # file backend: one .eml per message; default <data_dir>/mail
    email_from: str = "Wheelhouse <noreply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout: float = 10.0
    email_verification_ttl: int = Field(default=86400, ge=60)  # seconds a verification link is valid
    password_reset_ttl: int = Field(default=6 * 3600, ge=60)
    invitation_ttl: int = Field(default=7 * 86400, ge=60)
    # Trusted publishing (OIDC): the audience CI providers must put in their ID tokens, and the issuers.
    oidc_audience: str = "wheelhouse"
    oidc_github_issuer: str | None = "https://token.actions.githubusercontent.com"
    oidc_gitlab_issuer: str | None = "https://gitlab.com"
    oidc_token_ttl: int = Field(default=900, ge=60, le=3600)  # lifetime of a minted upload token
    oidc_leeway: int = Field(default=30, ge=0, le=300)
    oidc_jwks_ttl: int = Field(default=3600, ge=60)

    @model_validator(mode="after")
    def _default_email_dir(self) -> AccountsSettings:
        if self.email_dir is None:
            object.__setattr__(self, "email_dir", self.data_dir / "mail")
        return self


class ServeSettings(UploadSettings, SimpleSettings, AccountsSettings):
    """Everything the embedded default needs in one process."""
