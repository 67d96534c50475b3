"""The shared schema: one module per table; ``Base.metadata`` is Alembic's target."""

from shared.schema.api_token import ApiToken
from shared.schema.base import Base
from shared.schema.email import Email
from shared.schema.file import File
from shared.schema.filename_registry import FilenameRegistry
from shared.schema.journal import JournalEntry
from shared.schema.project import PROJECT_STATUSES, Project
from shared.schema.release import Release
from shared.schema.role import ROLE_NAMES, Role
from shared.schema.user import User

__all__ = [
    "PROJECT_STATUSES",
    "ROLE_NAMES",
    "ApiToken",
    "Base",
    "Email",
    "File",
    "FilenameRegistry",
    "JournalEntry",
    "Project",
    "Release",
    "Role",
    "User",
]
