"""The shared schema: one module per table; ``Base.metadata`` is Alembic's target."""

from shared.schema.api_token import ApiToken
from shared.schema.audit_event import AuditEvent
from shared.schema.base import Base
from shared.schema.consumer import ConsumerCursor, DeadLetter
from shared.schema.email import Email
from shared.schema.file import File
from shared.schema.filename_registry import FilenameRegistry
from shared.schema.journal import JournalEntry
from shared.schema.oidc_publisher import PUBLISHER_KINDS, OidcPublisher
from shared.schema.project import PROJECT_STATUSES, Project
from shared.schema.rate_limit import RateLimitCounter
from shared.schema.recovery_code import RecoveryCode
from shared.schema.release import Release
from shared.schema.role import ROLE_NAMES, Role
from shared.schema.role_invitation import RoleInvitation
from shared.schema.search_document import SearchEntry
from shared.schema.used_oidc_token import UsedOidcToken
from shared.schema.user import User
from shared.schema.user_session import UserSession

__all__ = [
    "PROJECT_STATUSES",
    "PUBLISHER_KINDS",
    "ROLE_NAMES",
    "ApiToken",
    "AuditEvent",
    "Base",
    "ConsumerCursor",
    "DeadLetter",
    "Email",
    "File",
    "FilenameRegistry",
    "JournalEntry",
    "OidcPublisher",
    "Project",
    "RateLimitCounter",
    "RecoveryCode",
    "Release",
    "Role",
    "RoleInvitation",
    "SearchEntry",
    "UsedOidcToken",
    "User",
    "UserSession",
]
