from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from services.upload.service import ManageService, UploadService
from shared.config import UploadSettings
from shared.web.deps import CurrentIdentity, ReadDb, Storage, WriteDb

__all__ = ["CurrentIdentity", "Manage", "ReadDb", "Settings", "Storage", "Uploads", "WriteDb"]


async def _settings(request: Request) -> UploadSettings:
    return request.app.state.settings


async def _uploads(request: Request) -> UploadService:
    return request.app.state.upload_service


async def _manage(request: Request) -> ManageService:
    return request.app.state.manage_service


Settings = Annotated[UploadSettings, Depends(_settings)]
Uploads = Annotated[UploadService, Depends(_uploads)]
Manage = Annotated[ManageService, Depends(_manage)]
