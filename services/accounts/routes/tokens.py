"""API tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from services.accounts.deps import Ctx, CurrentAccount, WriteDb
from services.accounts.schemas import TokenCreate, TokenCreated, TokenPublic
from services.accounts.service import tokens
from shared.schema import ApiToken
from shared.web.routing import AutoCommitRoute

router = APIRouter(prefix="/api/account/tokens", tags=["tokens"], route_class=AutoCommitRoute)


def _public(token: ApiToken) -> TokenPublic:
    return TokenPublic(id=token.id, name=token.name, projects=token.projects, created=token.created,
                       expires_at=token.expires_at, last_used=token.last_used, revoked_at=token.revoked_at)


@router.get("", response_model=list[TokenPublic])
async def list_tokens(account: CurrentAccount, write: WriteDb) -> list[TokenPublic]:
    """The caller's tokens (never their secrets)."""
    return [_public(token) for token in await tokens.tokens_of(write, account=account)]


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(body: TokenCreate, account: CurrentAccount, write: WriteDb, ctx: Ctx) -> TokenCreated:
    """Create a token, optionally limited to some of the caller's projects and to a lifetime."""
    expires_in = timedelta(seconds=body.expires_in) if body.expires_in else None
    created = await tokens.create_token_for(write, account=account, keys=ctx.keys,
                                            name=body.name, projects=body.projects, expires_in=expires_in)
    return TokenCreated(id=created.id, name=created.name, projects=created.projects, created=created.created,
                        expires_at=created.expires_at, last_used=None, revoked_at=None, token=created.secret)


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: str, account: CurrentAccount, write: WriteDb) -> Response:
    """Revoke one of the caller's tokens; it fails on its very next use."""
    await tokens.revoke_token_of(write, account=account, token_id=token_id)
    return Response(status_code=204)
