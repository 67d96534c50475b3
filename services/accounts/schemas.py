"""Request and response models of the account API (with the examples the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list) and any(_has_nul(item) for item in value)


class _Input(BaseModel):
    """A request body: no text in it may hold NUL (no name can, and Postgres refuses such text)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class UserCreate(_Input):
    model_config = _examples({"username": "alice", "email": "alice@example.org",
                              "password": "correct horse battery staple"})
    username: str = Field(max_length=200, description="ASCII letters, digits, '.', '_', '-'; at most 50.")
    email: str = Field(max_length=254)
    password: str = Field(max_length=4096)


class EmailPublic(BaseModel):
    email: str
    verified: bool
    primary: bool


class UploadPolicy(BaseModel):
    requires_2fa: bool
    requires_verified_email: bool


class UserPublic(BaseModel):
    model_config = _examples({
        "username": "alice", "created": "2026-11-26T10:00:00Z", "two_factor": True,
        "emails": [{"email": "alice@example.org", "verified": True, "primary": True}],
        "upload_policy": {"requires_2fa": True, "requires_verified_email": True},
    })
    username: str
    created: datetime
    two_factor: bool
    emails: list[EmailPublic] = []
    upload_policy: UploadPolicy | None = None


class LoginRequest(_Input):
    model_config = _examples(
        {"username": "alice", "password": "correct horse battery staple"},
        {"username": "alice", "password": "correct horse battery staple", "totp_code": "123456"},
        {"username": "alice", "password": "correct horse battery staple", "recovery_code": "abcd-efgh-ijkl-mnop"},
    )
    username: str = Field(max_length=254)
    password: str = Field(max_length=4096)
    totp_code: str | None = Field(default=None, max_length=20)
    recovery_code: str | None = Field(default=None, max_length=40)


class SessionPublic(BaseModel):
    model_config = _examples({"token": "whs-…", "expires_at": "2026-11-26T10:30:00Z", "username": "alice"})
    token: str = Field(description="Send as 'Authorization: Bearer <token>' to the account API.")
    expires_at: datetime
    username: str


class PasswordChange(_Input):
    model_config = _examples({"current_password": "correct horse battery staple",
                              "new_password": "a longer passphrase than before"})
    current_password: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)


class PasswordResetRequest(_Input):
    model_config = _examples({"username_or_email": "alice@example.org"})
    username_or_email: str = Field(max_length=254)


class PasswordReset(_Input):
    model_config = _examples({"token": "eyJwIjp7…", "new_password": "a new passphrase"})
    token: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)


class LinkToken(_Input):
    model_config = _examples({"token": "eyJwIjp7…"})
    token: str = Field(max_length=4096)


class PasswordConfirm(_Input):
    model_config = _examples({"password": "correct horse battery staple"})
    password: str = Field(max_length=4096)


class Accepted(BaseModel):
    model_config = _examples({"message": "If an account matches, a reset link has been sent to its address."})
    message: str


class TotpEnrolment(BaseModel):
    model_config = _examples({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                              "provisioning_uri": "otpauth://totp/Wheelhouse:alice?secret=…&issuer=Wheelhouse"})
    secret: str
    provisioning_uri: str


class TotpCode(_Input):
    model_config = _examples({"code": "123456"})
    code: str = Field(max_length=20)


class SecondFactor(_Input):
    model_config = _examples({"code": "123456"}, {"recovery_code": "abcd-efgh-ijkl-mnop"})
    code: str | None = Field(default=None, max_length=20)
    recovery_code: str | None = Field(default=None, max_length=40)


class RecoveryCodes(BaseModel):
    model_config = _examples({"recovery_codes": ["abcd-efgh-ijkl-mnop", "qrst-uvwx-yz23-4567"]})
    recovery_codes: list[str] = Field(description="Shown once. Each works once in place of a TOTP code.")


class TokenCreate(_Input):
    model_config = _examples(
        {"name": "CI for sampleproject", "projects": ["sampleproject"], "expires_in": 2592000},
        {"name": "laptop"},
    )
    name: str = Field(default="", max_length=100)
    projects: list[str] | None = Field(default=None, max_length=100,
                                       description="Limit the token to these projects; omit for all of yours.")
    expires_in: int | None = Field(default=None, ge=60, le=10 * 365 * 86400, description="Lifetime in seconds.")


class TokenPublic(BaseModel):
    model_config = _examples({"id": "3f2a…", "name": "CI", "projects": ["sampleproject"],
                              "created": "2026-11-26T10:00:00Z", "expires_at": None, "last_used": None,
                              "revoked_at": None})
    id: str
    name: str
    projects: list[str] | None
    created: datetime
    expires_at: datetime | None
    last_used: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    model_config = _examples({"id": "3f2a…", "name": "CI", "projects": ["sampleproject"],
                              "created": "2026-11-26T10:00:00Z", "expires_at": None, "last_used": None,
                              "revoked_at": None, "token": "pypi-eyJ…"})
    token: str = Field(description="Shown once. Use it with twine as the password of user __token__.")


class ProjectRolePublic(BaseModel):
    project: str
    role: str


class InvitationCreate(_Input):
    model_config = _examples({"username": "bob", "role": "Maintainer"})
    username: str = Field(max_length=50)
    role: Literal["Owner", "Maintainer"] = "Maintainer"


class InvitationPublic(BaseModel):
    model_config = _examples({"id": 7, "project": "sampleproject", "username": "bob", "role": "Maintainer",
                              "created": "2026-11-26T10:00:00Z", "expires_at": "2026-12-03T10:00:00Z"})
    id: int
    project: str
    username: str
    role: str
    created: datetime
    expires_at: datetime


class RolePublic(BaseModel):
    model_config = _examples({"id": 3, "username": "alice", "role": "Owner"})
    id: int
    username: str
    role: str


class RoleUpdate(_Input):
    model_config = _examples({"role": "Owner"})
    role: Literal["Owner", "Maintainer"]


class CollaboratorsPublic(BaseModel):
    project: str
    roles: list[RolePublic]
    invitations: list[InvitationPublic]


class AuditEventPublic(BaseModel):
    model_config = _examples({"id": 42, "created": "2026-11-26T10:00:00Z", "action": "token:created",
                              "actor": "alice", "ip": "203.0.113.5", "project": None,
                              "details": {"token_id": "3f2a…", "name": "CI"}})
    id: int
    created: datetime
    action: str
    actor: str | None
    ip: str | None
    project: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    events: list[AuditEventPublic]
    next_before: int | None = Field(description="Pass as ?before= for the next (older) page.")


class PublisherCreate(_Input):
    model_config = _examples(
        {"kind": "github", "owner": "octo-org", "repository": "sampleproject", "workflow": "release.yml",
         "environment": "pypi"},
        {"kind": "gitlab", "owner": "group/subgroup", "repository": "sampleproject", "workflow": ".gitlab-ci.yml"},
    )
    kind: Literal["github", "gitlab"]
    owner: str = Field(max_length=200, description="GitHub user or organisation; GitLab namespace.")
    owner_id: str | None = Field(default=None, max_length=100, description=(
        "GitHub only: the owner's numeric id (https://api.github.com/users/<owner>). When omitted, it is "
        "pinned from the first ID token exchanged, so a re-created account of the same name is refused after."))
    repository: str = Field(max_length=200, description="GitHub repository name; GitLab project name.")
    workflow: str = Field(max_length=255, description="GitHub workflow file name; GitLab CI file path.")
    environment: str | None = Field(default=None, max_length=255)


class PendingPublisherCreate(PublisherCreate):
    model_config = _examples({"project_name": "new-project", "kind": "github", "owner": "octo-org",
                              "repository": "new-project", "workflow": "release.yml"})
    project_name: str = Field(max_length=200, description="The project the first use creates.")


class PublisherPublic(BaseModel):
    model_config = _examples({"id": 5, "kind": "github", "project": "sampleproject", "pending_project": None,
                              "owner": "octo-org", "owner_id": "1234", "repository": "sampleproject",
                              "workflow": "release.yml", "environment": "pypi", "created": "2026-11-26T10:00:00Z"})
    id: int
    kind: str
    project: str | None
    pending_project: str | None
    owner: str
    owner_id: str | None
    repository: str
    workflow: str
    environment: str | None
    created: datetime


class MintRequest(_Input):
    model_config = _examples({"token": "eyJhbGciOiJSUzI1NiIsImtpZCI6…"})
    token: str = Field(max_length=16384, description="The CI provider's OIDC ID token.")


class MintedTokenPublic(BaseModel):
    model_config = _examples({"success": True, "token": "pypi-eyJ…", "expires": 1795000000})
    success: bool = True
    token: str = Field(description="An upload token for the publisher's project; use it as __token__'s password.")
    expires: int = Field(description="Unix time when the token stops working.")


class Audience(BaseModel):
    model_config = _examples({"audience": "wheelhouse"})
    audience: str
