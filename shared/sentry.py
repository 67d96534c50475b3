"""Error reporting to Sentry, on only when ``WHEELHOUSE_SENTRY_DSN`` is set.

sentry-sdk's Starlette and FastAPI integrations report every unhandled exception (a 5xx) with
the request's route, and the ``service`` tag says which process it came from. Personal data
(addresses, cookies, the Authorization header) is not sent.
"""

from __future__ import annotations

import structlog

from shared.config import SharedSettings
from shared.logging import VERSION

log = structlog.get_logger()


def init_sentry(settings: SharedSettings, *, service: str) -> bool:
    """Start reporting when a DSN is configured; return whether it did."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.fastapi import FastApiIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment,
        release=f"wheelhouse@{VERSION}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        send_default_pii=False,
        integrations=[StarletteIntegration(transaction_style="url"), FastApiIntegration(transaction_style="url")],
    )
    sentry_sdk.set_tag("service", service)
    log.info("sentry_enabled", environment=settings.environment)
    return True
