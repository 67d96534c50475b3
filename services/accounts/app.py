"""The accounts service.  Its mount points exist; until its API is built, every path
answers 501 Not Implemented with the usual error shape."""

from __future__ import annotations

from fastapi import FastAPI

from shared.config import SharedSettings
from shared.web.placeholder import placeholder_app

SERVICE_NAME = "accounts"
PATH_PREFIXES = ("/api/account", "/_/oidc")


def create_app(settings: SharedSettings) -> FastAPI:
    return placeholder_app(settings, service=SERVICE_NAME, title="Wheelhouse accounts", prefixes=PATH_PREFIXES)
