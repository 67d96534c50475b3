"""``python -m services.upload``: one uvicorn process, configured by ``WHEELHOUSE_*`` variables."""

from services.upload.app import SERVICE_NAME, create_app
from shared.config import UploadSettings
from shared.web.runner import run_service

if __name__ == "__main__":
    run_service(create_app, UploadSettings(), service=SERVICE_NAME)
