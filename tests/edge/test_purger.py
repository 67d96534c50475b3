"""What the purger purges for each change, and how it talks to the edges (a real varnishd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.edge.purger import EdgePurgeError, Purger, keys_for
from shared.edge.varnish import SERVICES, Origin, Varnishd
from shared.events import Event, JournalAction


def event(action: JournalAction, project: str = "demo") -> Event:
    return Event(serial=1, action=str(action), project=project, version="1.0", filename=None, payload={},
                 actor=None, created=datetime.now(UTC))


class TestKeys:
    def test_a_new_file_purges_the_project_search_and_the_changelog(self) -> None:
        assert sorted(keys_for(event(JournalAction.FILE_ADDED))) == ["changelog", "project/demo", "search"]

    @pytest.mark.parametrize("action", [JournalAction.PROJECT_CREATED, JournalAction.PROJECT_DELETED,
                                        JournalAction.PROJECT_STATUS_CHANGED])
    def test_adding_removing_or_hiding_a_project_purges_the_index(self, action: JournalAction) -> None:
        assert "simple-index" in keys_for(event(action))

    @pytest.mark.parametrize("action", [JournalAction.FILE_DELETED, JournalAction.RELEASE_DELETED,
                                        JournalAction.PROJECT_DELETED])
    def test_removing_files_purges_them(self, action: JournalAction) -> None:
        assert "project-files/demo" in keys_for(event(action))

    def test_a_yank_keeps_the_files(self) -> None:
        assert "project-files/demo" not in keys_for(event(JournalAction.RELEASE_YANKED))

    def test_a_role_change_shows_only_in_the_changelog(self) -> None:
        assert keys_for(event(JournalAction.ROLE_ADDED)) == ["changelog"]


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Varnishd]:
    varnish = Varnishd(tmp_path / "edge", {name: Origin("127.0.0.1", 9) for name in SERVICES})
    varnish.start()
    yield varnish
    varnish.stop()


class TestSending:
    async def test_every_edge_must_acknowledge(self, edge: Varnishd, tmp_path: Path) -> None:
        refusing = Varnishd(tmp_path / "refusing", {name: Origin("127.0.0.1", 9) for name in SERVICES},
                            purgers=("192.0.2.1",))
        refusing.start()
        purger = Purger(urls=[edge.url, refusing.url])
        try:
            with pytest.raises(EdgePurgeError, match="405"):
                await purger.purge(["project/demo"])  # raised, so the consumer tries the event again
        finally:
            await purger.aclose()
            refusing.stop()

    async def test_a_dns_name_is_resolved_to_every_edge(self, edge: Varnishd) -> None:
        purger = Purger(dns="127.0.0.1", port=edge.port)
        try:
            assert await purger.edges() == [edge.url]
            await purger.purge(["project/demo"])
        finally:
            await purger.aclose()
