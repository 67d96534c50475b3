"""Roles on projects: owners invite, invitees accept, owners remove; a project keeps an owner.

Every change is written to the audit log and to the journal (mirrors see who
maintains what).  The project row is locked while the owners are counted, so
two owners removing each other at once cannot leave a project with none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.accounts.errors import (
    InvitationExistsError,
    InvitationNotFoundError,
    LastOwnerError,
    NotAllowedError,
    ProjectNotFoundError,
    RoleExistsError,
    RoleNotFoundError,
    UserNotFoundError,
)
from services.accounts.repository import AccountsRepository
from services.accounts.service import messages
from services.accounts.service.context import AccountsContext
from services.accounts.service.sessions import Account
from services.accounts.service.users import require_user
from shared.audit import record_audit
from shared.auth.service import MAINTAINER, OWNER, require_user_role
from shared.db import WriteSession
from shared.events.journal import JournalAction, record_event
from shared.names import is_valid_name, normalize_name
from shared.schema import Project, Role, RoleInvitation, User

ROLES = (OWNER, MAINTAINER)


@dataclass(frozen=True)
class Collaborators:
    project: Project
    roles: list[tuple[Role, User]]
    invitations: list[tuple[RoleInvitation, User]]


def check_role_name(role: str) -> str:
    for name in ROLES:
        if role.lower() == name.lower():
            return name
    raise NotAllowedError(f"Unknown role {role!r}: use Owner or Maintainer.", status_code=400)


async def find_project(repo: AccountsRepository, name: str, *, lock: bool = False) -> Project:
    # An invalid name cannot name a project (and Postgres refuses text with NUL in it).
    project = await repo.get_project(normalize_name(name), for_update=lock) if is_valid_name(name) else None
    if project is None:
        raise ProjectNotFoundError(f"No project named {name!r}.")
    return project


async def require_project_role(repo: AccountsRepository, account: Account, project: Project, *roles: str) -> Role:
    return await require_user_role(repo.session, user_id=account.user_id, project_id=project.id,
                                   project_name=project.name, roles=roles)


async def _log(
    repo: AccountsRepository, action: str, journal: JournalAction, *, account: Account, project: Project,
    user: User, role: str,
) -> None:
    details = {"username": user.username, "role": role}
    await record_audit(repo.session, action, actor_id=account.user_id, actor=account.username,
                       project_name=project.name, details=details)
    await record_audit(repo.session, action, actor_id=account.user_id, actor=account.username,
                       user_id=user.id, details={**details, "project": project.name})
    await record_event(repo.session, journal, project_name=project.name, project_id=project.id,
                       actor=account.username, payload=details)


async def collaborators(session: WriteSession, *, account: Account, project: str) -> Collaborators:
    repo = AccountsRepository(session)
    proj = await find_project(repo, project)
    await require_project_role(repo, account, proj, OWNER, MAINTAINER)
    return Collaborators(proj, await repo.roles_on(proj.id), await repo.invitations_on(proj.id))


async def projects_of(session: WriteSession, *, account: Account) -> list[tuple[Project, Role]]:
    return await AccountsRepository(session).projects_of(account.user_id)


async def invite(
    session: WriteSession, *, account: Account, project: str, username: str, role: str, ctx: AccountsContext,
    base_url: str, now: datetime | None = None,
) -> tuple[RoleInvitation, User]:
    repo = AccountsRepository(session)
    proj = await find_project(repo, project, lock=True)
    await require_project_role(repo, account, proj, OWNER)
    role_name = check_role_name(role)
    if not is_valid_name(username):  # no such user could exist (and Postgres refuses text with NUL in it)
        raise UserNotFoundError(f"No user named {username!r}.")
    invitee = await require_user(session, username)
    if not invitee.is_active:
        raise NotAllowedError(f"User {username!r} is deactivated and cannot be invited.")
    if await repo.role_of(invitee.id, proj.id) is not None:
        raise RoleExistsError(f"{invitee.username!r} already has a role on {proj.name!r}; change it instead.")
    now = now or datetime.now(UTC)
    pending = await repo.invitation_for(proj.id, invitee.id)
    if pending is not None and pending.expires_at > now:
        raise InvitationExistsError(f"{invitee.username!r} is already invited to {proj.name!r}: wait for an "
                                    "answer, or revoke that invitation before sending another.")
    if pending is not None:  # an expired invitation gives way to the new one
        await repo.delete(pending)
    invitation = RoleInvitation(project_id=proj.id, invitee_id=invitee.id, inviter_id=account.user_id,
                                role_name=role_name, created=now,
                                expires_at=now + timedelta(seconds=ctx.settings.invitation_ttl))
    await repo.add(invitation)
    await _log(repo, "role:invited", JournalAction.ROLE_INVITED, account=account, project=proj, user=invitee,
               role=role_name)
    await _notify_invitee(repo, invitee, account=account, project=proj, role=role_name, ctx=ctx, base_url=base_url)
    return invitation, invitee


async def _notify_invitee(
    repo: AccountsRepository, invitee: User, *, account: Account, project: Project, role: str,
    ctx: AccountsContext, base_url: str,
) -> None:
    email = await repo.primary_email(invitee.id)
    if email is not None:
        ctx.notifier.send(messages.invitation(
            to=email.email, username=invitee.username, inviter=account.username, project=project.display_name,
            role=role, link=ctx.link(base_url, "/api/account/invitations"),
        ))


async def revoke_invitation(session: WriteSession, *, account: Account, project: str, invitation_id: int) -> None:
    repo = AccountsRepository(session)
    proj = await find_project(repo, project)
    await require_project_role(repo, account, proj, OWNER)
    invitation = await repo.get_invitation(invitation_id, for_update=True)
    if invitation is None or invitation.project_id != proj.id:
        raise InvitationNotFoundError(f"Project {proj.name!r} has no invitation with id {invitation_id}.")
    invitee = await repo.get_user_by_id(invitation.invitee_id)
    await repo.delete(invitation)
    await record_audit(session, "role:invitation_revoked", actor_id=account.user_id, actor=account.username,
                       project_name=proj.name, details={"username": invitee.username if invitee else None})
    if invitee is not None:  # the invitee's own log saw the invitation, so it sees its end too
        await record_audit(session, "role:invitation_revoked", actor_id=account.user_id, actor=account.username,
                           user_id=invitee.id, details={"username": invitee.username, "project": proj.name})


async def my_invitations(
    session: WriteSession, *, account: Account, now: datetime | None = None
) -> list[tuple[RoleInvitation, Project]]:
    """The caller's invitations that can still be accepted."""
    now = now or datetime.now(UTC)
    return [(i, p) for i, p in await AccountsRepository(session).invitations_of(account.user_id) if i.expires_at > now]


async def answer_invitation(
    session: WriteSession, *, account: Account, invitation_id: int, accept: bool, now: datetime | None = None
) -> Role | None:
    """Accept (the role is created) or decline; someone else's invitation answers 404."""
    repo = AccountsRepository(session)
    invitation = await repo.get_invitation(invitation_id, for_update=True)
    if invitation is None or invitation.invitee_id != account.user_id:
        raise InvitationNotFoundError(f"You have no invitation with id {invitation_id}.")
    if invitation.expires_at <= (now or datetime.now(UTC)):
        raise InvitationNotFoundError("This invitation has expired; ask an owner for a new one.")
    project = await repo.session.get(Project, invitation.project_id)
    user = await repo.get_user_by_id(account.user_id)
    await repo.delete(invitation)
    if not accept:
        await record_audit(session, "role:invitation_declined", actor_id=account.user_id, actor=account.username,
                           project_name=project.name, details={"username": account.username})
        await record_audit(session, "role:invitation_declined", actor_id=account.user_id, actor=account.username,
                           user_id=account.user_id, details={"username": account.username, "project": project.name})
        return None
    role = Role(user_id=account.user_id, project_id=project.id, role_name=invitation.role_name)
    await repo.add(role)
    await _log(repo, "role:added", JournalAction.ROLE_ADDED, account=account, project=project, user=user,
               role=role.role_name)
    return role


async def change_role(
    session: WriteSession, *, account: Account, project: str, role_id: int, role: str
) -> tuple[Role, User]:
    repo = AccountsRepository(session)
    proj = await find_project(repo, project, lock=True)
    await require_project_role(repo, account, proj, OWNER)
    target = await _role(repo, proj, role_id)
    new_name = check_role_name(role)
    if target.role_name == OWNER and new_name != OWNER and await repo.count_owners(proj.id) <= 1:
        raise LastOwnerError(f"{proj.name!r} must keep an owner: make someone else owner first.")
    user = await repo.get_user_by_id(target.user_id)
    if target.role_name != new_name:
        target.role_name = new_name
        await _log(repo, "role:changed", JournalAction.ROLE_CHANGED, account=account, project=proj, user=user,
                   role=new_name)
    return target, user


async def _role(repo: AccountsRepository, project: Project, role_id: int) -> Role:
    target = await repo.get_role(role_id, project_id=project.id)
    if target is None:
        raise RoleNotFoundError(f"Project {project.name!r} has no role with id {role_id}.")
    return target


async def remove_role(session: WriteSession, *, account: Account, project: str, role_id: int) -> None:
    """Owners remove anyone; anyone may leave; the last owner may do neither."""
    repo = AccountsRepository(session)
    proj = await find_project(repo, project, lock=True)
    mine = await require_project_role(repo, account, proj, OWNER, MAINTAINER)
    target = await _role(repo, proj, role_id)
    if target.id != mine.id and mine.role_name != OWNER:
        raise NotAllowedError(f"Only owners of {proj.name!r} can remove other people's roles.")
    if target.role_name == OWNER and await repo.count_owners(proj.id) <= 1:
        raise LastOwnerError(f"{proj.name!r} must keep an owner: add another owner before this one leaves.")
    user = await repo.get_user_by_id(target.user_id)
    await repo.delete(target)
    await _log(repo, "role:removed", JournalAction.ROLE_REMOVED, account=account, project=proj, user=user,
               role=target.role_name)


async def project_name_of(session: WriteSession, project_id: int) -> str:
    project = await session.get(Project, project_id)
    return project.name if project is not None else ""
