"""Projects, roles and invitations."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.accounts.deps import Ctx, CurrentAccount, RowId, WriteDb
from services.accounts.schemas import (
    CollaboratorsPublic,
    InvitationCreate,
    InvitationPublic,
    ProjectRolePublic,
    RolePublic,
    RoleUpdate,
)
from services.accounts.service import roles
from shared.schema import RoleInvitation
from shared.web.routing import AutoCommitRoute

router = APIRouter(prefix="/api/account", tags=["roles"], route_class=AutoCommitRoute)



def _invitation(invitation: RoleInvitation, *, project: str, username: str) -> InvitationPublic:
    return InvitationPublic(id=invitation.id, project=project, username=username, role=invitation.role_name,
                            created=invitation.created, expires_at=invitation.expires_at)


@router.get("/projects", response_model=list[ProjectRolePublic])
async def list_my_projects(account: CurrentAccount, write: WriteDb) -> list[ProjectRolePublic]:
    """The projects the caller owns or maintains."""
    rows = await roles.projects_of(write, account=account)
    return [ProjectRolePublic(project=project.name, role=role.role_name) for project, role in rows]


@router.get("/projects/{project}/roles", response_model=CollaboratorsPublic)
async def list_collaborators(project: str, account: CurrentAccount, write: WriteDb) -> CollaboratorsPublic:
    """Who holds a role on the project, and who is invited (for anyone with a role)."""
    found = await roles.collaborators(write, account=account, project=project)
    name = found.project.name
    return CollaboratorsPublic(
        project=name,
        roles=[RolePublic(id=role.id, username=user.username, role=role.role_name) for role, user in found.roles],
        invitations=[_invitation(i, project=name, username=u.username) for i, u in found.invitations],
    )


@router.post("/projects/{project}/invitations", status_code=201, response_model=InvitationPublic)
async def invite_collaborator(project: str, body: InvitationCreate, account: CurrentAccount, write: WriteDb,
                              ctx: Ctx, request: Request) -> InvitationPublic:
    """Invite a user to be owner or maintainer (owners only); the invitee accepts or declines."""
    invitation, invitee = await roles.invite(write, account=account, project=project, username=body.username,
                                             role=body.role, ctx=ctx, base_url=str(request.base_url))
    return _invitation(invitation, project=project, username=invitee.username)


@router.delete("/projects/{project}/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(project: str, invitation_id: RowId, account: CurrentAccount,
                            write: WriteDb) -> Response:
    await roles.revoke_invitation(write, account=account, project=project, invitation_id=invitation_id)
    return Response(status_code=204)


@router.patch("/projects/{project}/roles/{role_id}", response_model=RolePublic)
async def change_role(project: str, role_id: RowId, body: RoleUpdate, account: CurrentAccount,
                      write: WriteDb) -> RolePublic:
    """Make someone owner or maintainer (owners only; the last owner stays owner)."""
    role, user = await roles.change_role(write, account=account, project=project, role_id=role_id, role=body.role)
    return RolePublic(id=role.id, username=user.username, role=role.role_name)


@router.delete("/projects/{project}/roles/{role_id}", status_code=204)
async def remove_role(project: str, role_id: RowId, account: CurrentAccount, write: WriteDb) -> Response:
    """Remove a role (owners), or leave a project (anyone); the last owner cannot leave."""
    await roles.remove_role(write, account=account, project=project, role_id=role_id)
    return Response(status_code=204)


@router.get("/invitations", response_model=list[InvitationPublic])
async def list_my_invitations(account: CurrentAccount, write: WriteDb) -> list[InvitationPublic]:
    rows = await roles.my_invitations(write, account=account)
    return [_invitation(i, project=p.name, username=account.username) for i, p in rows]


@router.post("/invitations/{invitation_id}/accept", response_model=ProjectRolePublic)
async def accept_invitation(invitation_id: RowId, account: CurrentAccount, write: WriteDb) -> ProjectRolePublic:
    role = await roles.answer_invitation(write, account=account, invitation_id=invitation_id, accept=True)
    assert role is not None
    return ProjectRolePublic(project=await roles.project_name_of(write, role.project_id), role=role.role_name)


@router.post("/invitations/{invitation_id}/decline", status_code=204)
async def decline_invitation(invitation_id: RowId, account: CurrentAccount, write: WriteDb) -> Response:
    await roles.answer_invitation(write, account=account, invitation_id=invitation_id, accept=False)
    return Response(status_code=204)
