"""Writing the journal: one row per change to package data, in the change's transaction.

MIR-2: every change to a project draws a new serial from the one journal, and
the project's ``last_serial`` follows it (MIR-1).  No write path may bypass
``record_event``; search indexing, cache purges and the bus relay all follow
the journal.

Serials are safe to follow: they are handed out in commit order.  A reader that
remembers "the last serial I saw" never skips a row that commits later with a
smaller serial, because no such row can exist: on Postgres a transaction takes
its first serial under a transaction-level advisory lock, held until it commits
or rolls back, so the next writer draws its serial only after that; on SQLite
writers are serialised by the database lock from ``BEGIN IMMEDIATE`` to commit.
The lock is held only from a transaction's first journal row to its commit,
which every write path keeps to a few inserts (uploads do their slow work first).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import case, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import JournalEntry, Project


class JournalAction(StrEnum):
    PROJECT_CREATED = "project_created"
    RELEASE_CREATED = "release_created"
    FILE_ADDED = "file_added"
    RELEASE_YANKED = "release_yanked"
    RELEASE_UNYANKED = "release_unyanked"
    FILE_DELETED = "file_deleted"
    RELEASE_DELETED = "release_deleted"
    PROJECT_DELETED = "project_deleted"
    PROJECT_STATUS_CHANGED = "project_status_changed"
    ROLE_INVITED = "role_invited"
    ROLE_ADDED = "role_added"
    ROLE_CHANGED = "role_changed"
    ROLE_REMOVED = "role_removed"
    PUBLISHER_ADDED = "publisher_added"
    PUBLISHER_REMOVED = "publisher_removed"


NOTIFY_CHANNEL = "wheelhouse_journal"  # shared/events/log.py listens here
JOURNAL_LOCK_KEY = 0x77686A6F75726E6C  # "whjournl": the advisory lock that orders serials by commit


async def _take_serial_lock(session: AsyncSession) -> None:
    """Postgres: hold the journal lock until this transaction ends (taking it again is harmless), and
    wake the consumers listening on the journal's channel once it commits (NOTIFY is sent at commit)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key), pg_notify(:channel, '')"),
                              {"key": JOURNAL_LOCK_KEY, "channel": NOTIFY_CHANNEL})


async def record_event(
    session: AsyncSession,
    action: JournalAction,
    *,
    project_name: str,
    project_id: int | None,
    version: str | None = None,
    filename: str | None = None,
    actor: str | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append one journal row and move the project's serial to it; return the serial.

    ``project_id`` is None only when the project itself is being deleted.
    """
    await _take_serial_lock(session)
    entry = JournalEntry(
        action=str(action),
        project_name=project_name,
        version=version,
        filename=filename,
        actor=actor,
        payload=payload or {},
    )
    session.add(entry)
    await session.flush()
    if project_id is not None:
        # Never move backwards: two transactions on one project may take serials in one order
        # and reach the project row in the other.
        newer = case((Project.last_serial < entry.serial, entry.serial), else_=Project.last_serial)
        await session.execute(update(Project).where(Project.id == project_id).values(last_serial=newer))
    return entry.serial
