from __future__ import annotations

import pytest

from shared.db import Database
from tests.factories.accounts import make_user_with_token


@pytest.fixture
async def token(app: object, db: Database) -> str:
    """alice's unscoped upload token."""
    return await make_user_with_token(db, "alice")
