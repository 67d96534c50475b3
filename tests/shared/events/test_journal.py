"""record_event: one journal row per change, and the project's serial follows it (MIR-1, MIR-2)."""

from __future__ import annotations

from sqlalchemy import select

from shared.db import Database
from shared.events import JournalAction, record_event
from shared.schema import JournalEntry, Project


async def new_project(db: Database) -> int:
    async with db.write_session() as session:
        project = Project(name="demo", display_name="demo", status="active", last_serial=0, total_size=0)
        session.add(project)
        await session.commit()
        return project.id


class TestRecordEvent:
    async def test_mir2_each_event_gets_a_new_higher_serial_and_moves_the_project(
        self, app: object, db: Database
    ) -> None:
        project_id = await new_project(db)
        serials = []
        for action in (JournalAction.PROJECT_CREATED, JournalAction.RELEASE_CREATED, JournalAction.FILE_ADDED):
            async with db.write_session() as session:
                serials.append(await record_event(session, action, project_name="demo", project_id=project_id,
                                                  version="1.0", actor="alice", payload={"k": 1}))
                await session.commit()
        assert serials == sorted(set(serials))
        async with db.read_session() as session:
            assert await session.scalar(select(Project.last_serial)) == serials[-1]
            rows = (await session.scalars(select(JournalEntry).order_by(JournalEntry.serial))).all()
        assert [r.action for r in rows] == ["project_created", "release_created", "file_added"]
        assert rows[-1].payload == {"k": 1} and rows[-1].actor == "alice"

    async def test_the_project_serial_never_moves_backwards(self, app: object, db: Database) -> None:
        """A transaction that took an older serial but reaches the project row after a newer one
        committed must not lower the project's serial (here the newer one is simulated)."""
        project_id = await new_project(db)
        async with db.write_session() as session:
            project = await session.get(Project, project_id)
            assert project is not None
            project.last_serial = 1_000_000  # a newer event already moved it
            await session.commit()
        async with db.write_session() as session:
            older = await record_event(session, JournalAction.RELEASE_UNYANKED, project_name="demo",
                                       project_id=project_id)
            await session.commit()
        assert older < 1_000_000
        async with db.read_session() as session:
            assert await session.scalar(select(Project.last_serial)) == 1_000_000

    async def test_deleting_a_project_still_journals(self, app: object, db: Database) -> None:
        async with db.write_session() as session:
            serial = await record_event(session, JournalAction.PROJECT_DELETED, project_name="gone", project_id=None)
            await session.commit()
        async with db.read_session() as session:
            entry = await session.get(JournalEntry, serial)
        assert entry is not None and entry.project_name == "gone"
