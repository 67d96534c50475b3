"""Use cases of the upload service: publishing a file, and the maintainer actions."""

from services.upload.service.manage import ManageService
from services.upload.service.upload_file import UploadResult, UploadService

__all__ = ["ManageService", "UploadResult", "UploadService"]
