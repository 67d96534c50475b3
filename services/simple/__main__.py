"""``python -m services.simple``: one uvicorn process, configured by ``WHEELHOUSE_*`` variables."""

from services.simple.app import SERVICE_NAME, create_app
from shared.config import SimpleSettings
from shared.web.runner import run_service

if __name__ == "__main__":
    run_service(create_app, SimpleSettings(), service=SERVICE_NAME)
