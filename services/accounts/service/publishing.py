"""Trusted publishing: registering CI workflows as publishers, and exchanging their
OIDC ID tokens for short-lived, project-scoped upload tokens (as the public index does).

A publisher names a repository and workflow (GitHub Actions) or a project and
CI file (GitLab CI), optionally an environment.  A *pending* publisher names a
project that does not exist yet: its first exchange creates the project, owned
by the user who registered it.  Each ID token is exchanged once: its ``jti`` is
recorded in the exchange's transaction, so of many concurrent requests with one
token exactly one gets an upload token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.accounts.errors import NotAllowedError, ProjectNotFoundError
from services.accounts.oidc import (
    GitHubPublisher,
    GitLabPublisher,
    InvalidIdTokenError,
    JwksCache,
    TokenProblem,
    VerifiedToken,
    check_github_claims,
    check_gitlab_claims,
    github_lookup,
    gitlab_lookup,
    issuer_host,
    verify_id_token,
)
from services.accounts.repository import AccountsRepository
from services.accounts.repository.publishing import PublishingRepository
from services.accounts.service.context import AccountsContext
from services.accounts.service.roles import find_project, require_project_role
from services.accounts.service.sessions import Account
from services.accounts.service.tokens import CreatedToken, issue_publisher_token
from shared.audit import record_audit
from shared.auth.service import OWNER, publisher_label
from shared.db import WriteSession
from shared.errors import BadRequestError, ConflictError
from shared.events.journal import JournalAction, record_event
from shared.names import is_valid_name, normalize_name
from shared.schema import OidcPublisher, Project, Role

_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?\Z")
_PATH_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}\Z")
_WORKFLOW_RE = re.compile(r"^[^/\s]{1,250}\.ya?ml\Z")
_GITLAB_FILE_RE = re.compile(r"^[^\s]{1,250}\.ya?ml\Z")


class InvalidPublisherError(BadRequestError):
    pass


class PublisherExistsError(ConflictError):
    pass


@dataclass(frozen=True)
class PublisherSpec:
    kind: str  # github | gitlab
    owner: str  # GitHub repository owner, or GitLab namespace (may contain '/')
    repository: str  # GitHub repository name, or GitLab project name
    workflow: str  # GitHub workflow file name, or GitLab CI file path
    environment: str | None = None
    owner_id: str | None = None  # GitHub only: the owner's numeric id; pinned at first use when not given


def _validated(spec: PublisherSpec) -> PublisherSpec:
    owner_ok = _PATH_RE.match(spec.owner) if spec.kind == "gitlab" else _OWNER_RE.match(spec.owner)
    workflow_ok = (_GITLAB_FILE_RE if spec.kind == "gitlab" else _WORKFLOW_RE).match(spec.workflow)
    problems = []
    if not owner_ok or ".." in spec.owner:
        problems.append(f"owner {spec.owner!r} is not a valid {'namespace' if spec.kind == 'gitlab' else 'user or organisation'}")
    if not _OWNER_RE.match(spec.repository):
        problems.append(f"repository {spec.repository!r} is not a valid name")
    if not workflow_ok or ".." in spec.workflow:
        what = "a CI file path such as .gitlab-ci.yml" if spec.kind == "gitlab" else \
            "a workflow file name such as release.yml (no directory)"
        problems.append(f"workflow {spec.workflow!r} must be {what}")
    if spec.owner_id is not None and (spec.kind != "github" or not spec.owner_id.isdigit()):
        problems.append("owner_id is the numeric id of a GitHub user or organisation")
    if spec.environment is not None and not 0 < len(spec.environment) <= 255:
        problems.append("environment must be 1–255 characters")
    if problems:
        raise InvalidPublisherError("Invalid trusted publisher: " + "; ".join(problems) + ".")
    return spec


def _row(spec: PublisherSpec, *, added_by: int, project_id: int | None = None,
         pending_name: str | None = None) -> OidcPublisher:
    return OidcPublisher(
        kind=spec.kind, owner=spec.owner.lower(), repository=spec.repository.lower(), workflow=spec.workflow,
        environment=spec.environment or None, owner_id=spec.owner_id, added_by_id=added_by,
        project_id=project_id, pending_project_name=pending_name,
    )


async def _insert(repo: PublishingRepository, row: OidcPublisher) -> OidcPublisher:
    if await repo.same_as(row) is not None:
        raise PublisherExistsError("This trusted publisher is already registered.")
    await repo.add(row)
    return row


async def add_publisher(
    session: WriteSession, *, account: Account, project: str, spec: PublisherSpec
) -> OidcPublisher:
    accounts = AccountsRepository(session)
    proj = await find_project(accounts, project, lock=True)
    await require_project_role(accounts, account, proj, OWNER)
    row = await _insert(PublishingRepository(session), _row(_validated(spec), added_by=account.user_id,
                                                             project_id=proj.id))
    details = describe(row)
    await record_audit(session, "publisher:added", actor_id=account.user_id, actor=account.username,
                       project_name=proj.name, details=details)
    await record_event(session, JournalAction.PUBLISHER_ADDED, project_name=proj.name, project_id=proj.id,
                       actor=account.username, payload=details)
    return row


async def list_publishers(session: WriteSession, *, account: Account, project: str) -> list[OidcPublisher]:
    accounts = AccountsRepository(session)
    proj = await find_project(accounts, project)
    await require_project_role(accounts, account, proj, OWNER)
    return await PublishingRepository(session).of_project(proj.id)


async def remove_publisher(session: WriteSession, *, account: Account, project: str, publisher_id: int) -> None:
    accounts = AccountsRepository(session)
    proj = await find_project(accounts, project, lock=True)
    await require_project_role(accounts, account, proj, OWNER)
    repo = PublishingRepository(session)
    row = await repo.get(publisher_id)
    if row is None or row.project_id != proj.id:
        raise ProjectNotFoundError(f"Project {proj.name!r} has no trusted publisher with id {publisher_id}.")
    details = describe(row)
    await repo.delete(row)  # its minted tokens go with it (ON DELETE CASCADE)
    await record_audit(session, "publisher:removed", actor_id=account.user_id, actor=account.username,
                       project_name=proj.name, details=details)
    await record_event(session, JournalAction.PUBLISHER_REMOVED, project_name=proj.name, project_id=proj.id,
                       actor=account.username, payload=details)


async def add_pending_publisher(
    session: WriteSession, *, account: Account, project_name: str, spec: PublisherSpec
) -> OidcPublisher:
    if not is_valid_name(project_name):
        raise InvalidPublisherError(f"{project_name!r} is not a valid project name.")
    name = normalize_name(project_name)
    repo = PublishingRepository(session)
    if await repo.get_project(name) is not None:
        raise PublisherExistsError(
            f"Project {name!r} already exists; its owners register publishers on the project itself."
        )
    row = await _insert(repo, _row(_validated(spec), added_by=account.user_id, pending_name=name))
    await record_audit(session, "publisher:pending_added", actor_id=account.user_id, actor=account.username,
                       user_id=account.user_id, details={**describe(row), "project": name})
    return row


async def list_pending_publishers(session: WriteSession, *, account: Account) -> list[OidcPublisher]:
    return await PublishingRepository(session).pending_of(account.user_id)


async def remove_pending_publisher(session: WriteSession, *, account: Account, publisher_id: int) -> None:
    repo = PublishingRepository(session)
    row = await repo.get(publisher_id)
    if row is None or row.pending_project_name is None or row.added_by_id != account.user_id:
        raise ProjectNotFoundError(f"You have no pending trusted publisher with id {publisher_id}.")
    await repo.delete(row)
    await record_audit(session, "publisher:pending_removed", actor_id=account.user_id, actor=account.username,
                       user_id=account.user_id, details=describe(row))


def describe(row: OidcPublisher) -> dict[str, str | None]:
    return {"kind": row.kind, "owner": row.owner, "repository": row.repository, "workflow": row.workflow,
            "environment": row.environment}


# -- Exchanging an ID token ---------------------------------------------------------------------


@dataclass(frozen=True)
class MintedToken:
    token: CreatedToken
    project: str


def configured_issuers(ctx: AccountsContext) -> dict[str, str]:
    """Issuer URL → publisher kind, for the providers this index trusts."""
    settings = ctx.settings
    pairs = (("github", settings.oidc_github_issuer), ("gitlab", settings.oidc_gitlab_issuer))
    return {issuer.rstrip("/"): kind for kind, issuer in pairs if issuer}


async def mint_token(
    session: WriteSession, *, id_token: str, ctx: AccountsContext, jwks: JwksCache, now: datetime | None = None
) -> MintedToken:
    now = now or datetime.now(UTC)
    issuers = configured_issuers(ctx)
    if not issuers:
        raise NotAllowedError("Trusted publishing is not enabled on this index.")
    verified = await verify_id_token(id_token, issuers=list(issuers), audience=ctx.settings.oidc_audience,
                                     jwks=jwks, leeway=timedelta(seconds=ctx.settings.oidc_leeway), now=now)
    kind = issuers[verified.issuer.rstrip("/")]
    repo = PublishingRepository(session)
    publisher = await _matching_publisher(repo, kind, verified)
    await _claim_once(repo, verified, leeway=ctx.settings.oidc_leeway, now=now)
    project = await _project_for(session, publisher)
    _pin_owner_id(publisher, verified)
    created = await issue_publisher_token(session, publisher_id=publisher.id, project=project.name, keys=ctx.keys,
                                          lifetime=timedelta(seconds=ctx.settings.oidc_token_ttl), now=now)
    await record_audit(session, "publisher:token_minted", actor_id=None, actor=publisher_label(publisher),
                       project_name=project.name, details=_run_details(verified, created))
    return MintedToken(token=created, project=project.name)


async def _matching_publisher(repo: PublishingRepository, kind: str, verified: VerifiedToken) -> OidcPublisher:
    claims = verified.claims
    owner, repository, _workflow = github_lookup(claims) if kind == "github" else gitlab_lookup(claims)
    candidates = await repo.matching(kind, owner=owner.lower(), repository=repository.lower())
    problems: list[TokenProblem] = []
    for candidate in candidates:
        found = _check(candidate, claims, issuer=verified.issuer)
        if not found:
            return candidate
        problems = problems or found
    if not problems:
        problems = [TokenProblem("invalid-publisher", f"No trusted publisher is registered for the {kind} "
                                 f"repository {owner}/{repository}; register one for the project first.")]
    raise InvalidIdTokenError(problems)


def _check(row: OidcPublisher, claims, *, issuer: str) -> list[TokenProblem]:  # noqa: ANN001
    if row.kind == "github":
        owner_id = row.owner_id or str(claims.get("repository_owner_id", ""))
        publisher = GitHubPublisher(repository_owner=row.owner, repository_owner_id=owner_id,
                                    repository_name=row.repository, workflow_filename=row.workflow,
                                    environment=row.environment)
        return check_github_claims(publisher, claims)
    gitlab = GitLabPublisher(namespace=row.owner, project=row.repository, workflow_filepath=row.workflow,
                             environment=row.environment)
    return check_gitlab_claims(gitlab, claims, issuer_host=issuer_host(issuer))


async def _claim_once(repo: PublishingRepository, verified: VerifiedToken, *, leeway: int, now: datetime) -> None:
    await repo.forget_expired_jtis(now)
    keep_until = verified.expires_at + timedelta(seconds=leeway)
    if not await repo.claim_jti(issuer=verified.issuer, jti=verified.jti, expires_at=keep_until):
        raise InvalidIdTokenError([TokenProblem(
            "replayed-token", "This ID token has already been exchanged; each ID token can be used once. "
            "Request a new one from the CI provider.")])


async def _project_for(session: WriteSession, publisher: OidcPublisher) -> Project:
    if publisher.project_id is None:
        await PublishingRepository(session).lock(publisher.id)
    if publisher.project_id is not None:
        project = await session.get(Project, publisher.project_id)
        assert project is not None  # the foreign key cascades
        return project
    return await _create_pending_project(session, publisher)


async def _create_pending_project(session: WriteSession, publisher: OidcPublisher) -> Project:
    """A pending publisher's first use creates its project, owned by the user who registered it."""
    repo = PublishingRepository(session)
    name = publisher.pending_project_name or ""
    if await repo.get_project(name) is not None:
        raise InvalidIdTokenError([TokenProblem(
            "invalid-publisher", f"Project {name!r} was created by someone else after this pending publisher "
            "was registered; ask its owners to add the publisher.")])
    if publisher.added_by_id is None:
        raise InvalidIdTokenError([TokenProblem(
            "invalid-publisher", "The user who registered this pending publisher no longer exists.")])
    project = Project(name=name, display_name=name, status="active", last_serial=0, total_size=0)
    await repo.add(project)
    await repo.add(Role(user_id=publisher.added_by_id, project_id=project.id, role_name=OWNER))
    publisher.project_id, publisher.pending_project_name = project.id, None
    await session.flush()
    await repo.delete_pending_for(name)
    label = publisher_label(publisher)
    await record_event(session, JournalAction.PROJECT_CREATED, project_name=name, project_id=project.id, actor=label)
    await record_audit(session, "project:created", actor_id=None, actor=label, project_name=name,
                       details={"by": "pending trusted publisher", **describe(publisher)})
    return project


def _pin_owner_id(publisher: OidcPublisher, verified: VerifiedToken) -> None:
    if publisher.kind == "github" and publisher.owner_id is None:
        publisher.owner_id = str(verified.claims.get("repository_owner_id") or "") or None


def _run_details(verified: VerifiedToken, created: CreatedToken) -> dict[str, object]:
    keep = ("repository", "project_path", "ref", "sha", "run_id", "pipeline_id", "job_workflow_ref",
            "ci_config_ref_uri", "environment", "event_name")
    return {"token_id": created.id, **{k: verified.claims[k] for k in keep if k in verified.claims}}
