from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from services.simple.changelog import ChangelogService
from services.simple.service import SimpleService
from shared.config import SimpleSettings
from shared.web.deps import ReadDb, Storage

__all__ = ["Changelog", "ReadDb", "Settings", "Simple", "Storage"]


async def _settings(request: Request) -> SimpleSettings:
    return request.app.state.settings


async def _simple(request: Request) -> SimpleService:
    return request.app.state.simple_service


async def _changelog(request: Request) -> ChangelogService:
    return request.app.state.changelog_service


Settings = Annotated[SimpleSettings, Depends(_settings)]
Changelog = Annotated[ChangelogService, Depends(_changelog)]
Simple = Annotated[SimpleService, Depends(_simple)]
