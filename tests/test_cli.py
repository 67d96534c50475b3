"""The ``wheelhouse`` console script's account commands, run in-process on SQLite."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from services.cli.main import main
from shared.auth.keys import load_secret_keys
from shared.auth.service import Identity, authenticate_token
from shared.config import ServeSettings
from shared.db import Database
from shared.errors import ForbiddenError


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WHEELHOUSE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def wheelhouse(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
               stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check_token(data_dir: Path, secret: str) -> Identity:
    async def go() -> Identity:
        settings = ServeSettings(data_dir=data_dir)
        db = Database.from_settings(settings, service_name="tests")
        try:
            async with db.read_session() as session:
                return await authenticate_token(session, secret, keys=load_secret_keys(settings))
        finally:
            await db.aclose()

    return asyncio.run(go())


class TestUsersAndTokens:
    def test_create_user_then_token_prints_only_the_token(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = wheelhouse(monkeypatch, capsys, "users", "create", "alice", "--email", "alice@example.org",
                                  "--password-stdin", stdin="s3cret-passw0rd\n")
        assert code == 0 and out == ""
        code, out, _ = wheelhouse(monkeypatch, capsys, "tokens", "create", "--user", "alice", "--project", "Demo",
                                  "--expires-in", "30d")
        assert code == 0
        lines = out.splitlines()
        assert len(lines) == 1 and lines[0].startswith("pypi-")
        check_token(data_dir, lines[0])
        code, out, _ = wheelhouse(monkeypatch, capsys, "tokens", "list", "--user", "alice")
        assert "demo" in out and "expires" in out and lines[0] not in out

    def test_revoked_token_no_longer_authenticates(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        wheelhouse(monkeypatch, capsys, "users", "create", "bob", "--email", "bob@example.org", "--password-stdin",
                   stdin="s3cret-passw0rd\n")
        _, out, _ = wheelhouse(monkeypatch, capsys, "tokens", "create", "--user", "bob")
        secret = out.strip()
        code, _, err = wheelhouse(monkeypatch, capsys, "tokens", "revoke", secret)
        assert code == 0 and "revoked" in err
        with pytest.raises(ForbiddenError, match="revoked"):
            check_token(data_dir, secret)

    def test_duplicate_user_and_bad_input_are_reported(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ("users", "create", "carol", "--email", "carol@example.org", "--password-stdin")
        assert wheelhouse(monkeypatch, capsys, *args, stdin="s3cret-passw0rd\n")[0] == 0
        code, _, err = wheelhouse(monkeypatch, capsys, *args, stdin="s3cret-passw0rd\n")
        assert code == 1 and "already exists" in err
        code, _, err = wheelhouse(monkeypatch, capsys, "users", "create", "bad-", "--email", "x@example.org",
                                  "--password-stdin", stdin="s3cret-passw0rd\n")
        assert code == 1 and "Invalid username" in err
        code, _, err = wheelhouse(monkeypatch, capsys, "users", "create", "dave", "--email", "dave@example.org",
                                  "--password-stdin", stdin="short\n")
        assert code == 1 and "between" in err
        code, _, err = wheelhouse(monkeypatch, capsys, "tokens", "create", "--user", "carol", "--expires-in", "soon")
        assert code == 2 and "Invalid duration" in err
        code, _, err = wheelhouse(monkeypatch, capsys, "tokens", "create", "--user", "nobody")
        assert code == 1 and "No user" in err

    def test_deactivated_user_tokens_stop_working(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        wheelhouse(monkeypatch, capsys, "users", "create", "erin", "--email", "erin@example.org", "--password-stdin",
                   stdin="s3cret-passw0rd\n")
        secret = wheelhouse(monkeypatch, capsys, "tokens", "create", "--user", "erin")[1].strip()
        check_token(data_dir, secret)
        code, _, err = wheelhouse(monkeypatch, capsys, "users", "deactivate", "erin")
        assert code == 0 and "deactivated" in err
        with pytest.raises(ForbiddenError, match="deactivated"):
            check_token(data_dir, secret)
        code, _, err = wheelhouse(monkeypatch, capsys, "users", "deactivate", "nobody")
        assert code == 1 and "No user" in err

    def test_restrict_narrows_a_token_offline(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        wheelhouse(monkeypatch, capsys, "users", "create", "fay", "--email", "fay@example.org", "--password-stdin",
                   stdin="s3cret-passw0rd\n")
        secret = wheelhouse(monkeypatch, capsys, "tokens", "create", "--user", "fay")[1].strip()
        code, out, _ = wheelhouse(monkeypatch, capsys, "tokens", "restrict", "-", "--project", "Demo",
                                  "--expires-in", "1h", stdin=secret + "\n")
        narrowed = out.strip()
        assert code == 0 and narrowed.startswith("pypi-") and narrowed != secret
        identity = check_token(data_dir, narrowed)
        assert identity.token_projects == frozenset({"demo"})
        code, _, err = wheelhouse(monkeypatch, capsys, "tokens", "restrict", secret)
        assert code == 2 and "Nothing to restrict" in err
        code, _, err = wheelhouse(monkeypatch, capsys, "tokens", "restrict", "pypi-garbage", "--project", "x")
        assert code == 2 and "error" in err


class TestWorkerStatus:
    def test_lists_each_consumer_with_its_lag(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = wheelhouse(monkeypatch, capsys, "worker", "status")
        assert code == 0 and "no consumer has run yet" in out

        async def journal_and_cursor() -> None:
            from shared.events import CursorStore, JournalAction, record_event

            db = Database.from_settings(ServeSettings(data_dir=data_dir), service_name="tests")
            try:
                for _ in range(3):
                    async with db.write_session() as session:
                        await record_event(session, JournalAction.FILE_ADDED, project_name="demo", project_id=None)
                        await session.commit()
                await CursorStore(db).advance("search-indexer", 1)
            finally:
                await db.aclose()

        asyncio.run(journal_and_cursor())
        code, out, _ = wheelhouse(monkeypatch, capsys, "worker", "status")
        line = next(line for line in out.splitlines() if line.startswith("search-indexer"))
        assert code == 0 and line.split()[1:3] == ["1", "2"]

    def test_rewind_replays_the_journal_to_a_consumer(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        async def cursor_at(serial: int | None = None) -> int:
            from shared.events import CursorStore

            db = Database.from_settings(ServeSettings(data_dir=data_dir), service_name="tests")
            try:
                if serial is not None:
                    await CursorStore(db).advance("search-indexer", serial)
                return await CursorStore(db).position("search-indexer")
            finally:
                await db.aclose()

        wheelhouse(monkeypatch, capsys, "worker", "status")  # migrates the embedded database
        assert asyncio.run(cursor_at(7)) == 7
        code, out, _ = wheelhouse(monkeypatch, capsys, "worker", "rewind", "search-indexer", "--to", "2")
        assert code == 0 and "after serial 2" in out
        assert asyncio.run(cursor_at()) == 2
        code, _, _ = wheelhouse(monkeypatch, capsys, "worker", "rewind", "search-indexer")
        assert code == 0 and asyncio.run(cursor_at()) == 0
        code, _, err = wheelhouse(monkeypatch, capsys, "worker", "rewind", "search-indexer", "--to", "-1")
        assert code == 2 and "--to" in err
