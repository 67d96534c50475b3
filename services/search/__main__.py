"""``python -m services.search``: one uvicorn process, configured by ``WHEELHOUSE_*`` variables."""

from services.search.app import SERVICE_NAME, create_app
from shared.config import SharedSettings
from shared.web.runner import run_service

if __name__ == "__main__":
    run_service(create_app, SharedSettings(), service=SERVICE_NAME)
