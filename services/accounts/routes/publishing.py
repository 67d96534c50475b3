"""Trusted publishers (owners register them) and the OIDC token exchange CI jobs call."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.accounts import limits
from services.accounts.deps import ClientIp, Ctx, CurrentAccount, Limiter, RowId, Settings, WriteDb
from services.accounts.schemas import (
    Audience,
    MintedTokenPublic,
    MintRequest,
    PendingPublisherCreate,
    PublisherCreate,
    PublisherPublic,
)
from services.accounts.service import publishing
from shared.ratelimit import enforce
from shared.schema import OidcPublisher
from shared.web.routing import AutoCommitRoute

router = APIRouter(tags=["trusted publishing"], route_class=AutoCommitRoute)



def _spec(body: PublisherCreate) -> publishing.PublisherSpec:
    return publishing.PublisherSpec(kind=body.kind, owner=body.owner, repository=body.repository,
                                    workflow=body.workflow, environment=body.environment, owner_id=body.owner_id)


def _public(row: OidcPublisher, *, project: str | None = None) -> PublisherPublic:
    return PublisherPublic(id=row.id, kind=row.kind, project=project, pending_project=row.pending_project_name,
                           owner=row.owner, owner_id=row.owner_id, repository=row.repository, workflow=row.workflow,
                           environment=row.environment, created=row.created)


@router.get("/api/account/projects/{project}/publishers", response_model=list[PublisherPublic])
async def list_publishers(project: str, account: CurrentAccount, write: WriteDb) -> list[PublisherPublic]:
    rows = await publishing.list_publishers(write, account=account, project=project)
    return [_public(row, project=project) for row in rows]


@router.post("/api/account/projects/{project}/publishers", status_code=201, response_model=PublisherPublic)
async def add_publisher(project: str, body: PublisherCreate, account: CurrentAccount,
                        write: WriteDb) -> PublisherPublic:
    """Let a CI workflow publish this project (owners only)."""
    row = await publishing.add_publisher(write, account=account, project=project, spec=_spec(body))
    return _public(row, project=project)


@router.delete("/api/account/projects/{project}/publishers/{publisher_id}", status_code=204)
async def remove_publisher(project: str, publisher_id: RowId, account: CurrentAccount, write: WriteDb) -> Response:
    """Stop trusting a publisher; the upload tokens minted for it stop working at once."""
    await publishing.remove_publisher(write, account=account, project=project, publisher_id=publisher_id)
    return Response(status_code=204)


@router.get("/api/account/publishers/pending", response_model=list[PublisherPublic])
async def list_pending_publishers(account: CurrentAccount, write: WriteDb) -> list[PublisherPublic]:
    return [_public(row) for row in await publishing.list_pending_publishers(write, account=account)]


@router.post("/api/account/publishers/pending", status_code=201, response_model=PublisherPublic)
async def add_pending_publisher(body: PendingPublisherCreate, account: CurrentAccount, write: WriteDb,
                                limiter: Limiter) -> PublisherPublic:
    """Register a publisher for a project that does not exist yet; its first use creates the project."""
    await enforce(limiter, limits.PROJECT_CREATION, str(account.user_id), message=limits.TOO_MANY_PROJECTS)
    row = await publishing.add_pending_publisher(write, account=account, project_name=body.project_name,
                                                 spec=_spec(body))
    return _public(row)


@router.delete("/api/account/publishers/pending/{publisher_id}", status_code=204)
async def remove_pending_publisher(publisher_id: RowId, account: CurrentAccount, write: WriteDb) -> Response:
    await publishing.remove_pending_publisher(write, account=account, publisher_id=publisher_id)
    return Response(status_code=204)


@router.get("/_/oidc/audience", response_model=Audience)
async def get_audience(settings: Settings) -> Audience:
    """The ``aud`` CI jobs must request their ID token for (what gh-action-pypi-publish asks first)."""
    return Audience(audience=settings.oidc_audience)


@router.post("/_/oidc/mint-token", response_model=MintedTokenPublic, responses={422: {"description": (
    "The ID token was refused: {\"message\": …, \"errors\": [{\"code\": …, \"description\": …}]}")}})
async def mint_token(body: MintRequest, request: Request, write: WriteDb, ctx: Ctx, limiter: Limiter,
                     ip: ClientIp) -> MintedTokenPublic:
    """Exchange a CI provider's OIDC ID token for an upload token valid 15 minutes for one project."""
    await enforce(limiter, limits.MINT_PER_IP, ip, message=limits.TOO_MANY_MINTS)
    minted = await publishing.mint_token(write, id_token=body.token, ctx=ctx, jwks=request.app.state.jwks)
    expires = minted.token.expires_at
    assert expires is not None
    return MintedTokenPublic(token=minted.token.secret, expires=int(expires.timestamp()))
