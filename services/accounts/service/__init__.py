"""The account use cases, one module per area; the CLI's entry points are re-exported here."""

from services.accounts.service.tokens import CreatedToken, create_token, list_tokens, revoke_token
from services.accounts.service.users import create_user, deactivate_user, require_user, set_password

__all__ = [
    "CreatedToken",
    "create_token",
    "create_user",
    "deactivate_user",
    "list_tokens",
    "require_user",
    "revoke_token",
    "set_password",
]
