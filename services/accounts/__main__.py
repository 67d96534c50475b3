"""``python -m services.accounts``: one uvicorn process, configured by ``WHEELHOUSE_*`` variables."""

from services.accounts.app import SERVICE_NAME, create_app
from shared.config import AccountsSettings
from shared.web.runner import run_service

if __name__ == "__main__":
    run_service(create_app, AccountsSettings(), service=SERVICE_NAME)
