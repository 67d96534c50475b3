"""The account API (``/api/account``) and trusted publishing (``/_/oidc``): HTTP only."""

from fastapi import APIRouter

from services.accounts.routes import account, audit, publishing, roles, tokens, twofactor

router = APIRouter()
for module in (account, twofactor, tokens, roles, publishing, audit):
    router.include_router(module.router)

__all__ = ["router"]
