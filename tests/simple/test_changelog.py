"""The changelog for mirrors: pages of the journal, the live stream, and the XML-RPC
methods mirror tools call (changelog_last_serial, changelog_since_serial,
list_packages_with_serial), on both backend pairs."""

from __future__ import annotations

import asyncio
import json
import xmlrpc.client
from pathlib import Path

import httpx
import pytest

from services.simple.changelog import ChangelogService
from shared.db import Database
from tests.factories.accounts import make_user_with_token
from tests.factories.queries import journal
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel


@pytest.fixture
async def published(client: httpx.AsyncClient, db: Database, tmp_path: Path) -> list[int]:
    """demo 1.0 and Other.Pkg 0.1: six journal rows; returns their serials."""
    token = await make_user_with_token(db, "alice")
    for name, version in (("demo", "1.0"), ("Other.Pkg", "0.1")):
        wheel = build_wheel(subdir(tmp_path, name), name=name, version=version)
        assert (await upload(client, wheel, token=token)).status_code == 200
    return [row[0] for row in await journal(db)]


async def rpc(client: httpx.AsyncClient, method: str, *params: object) -> object:
    response = await client.post("/pypi", content=xmlrpc.client.dumps(params, method),
                                 headers={"Content-Type": "text/xml"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    return xmlrpc.client.loads(response.content)[0][0]


class TestChangelogPages:
    async def test_events_in_serial_order_with_what_changed(
        self, client: httpx.AsyncClient, published: list[int]
    ) -> None:
        body = (await client.get("/api/changelog")).json()
        assert [e["serial"] for e in body["events"]] == published
        assert [(e["project"], e["action"]) for e in body["events"][:3]] == [
            ("demo", "project_created"), ("demo", "release_created"), ("demo", "file_added")]
        assert body["events"][2]["filename"] == "demo-1.0-py3-none-any.whl"
        assert body["events"][2]["version"] == "1.0" and body["events"][2]["time"]
        assert body["last_serial"] == published[-1]

    async def test_following_with_since_and_next(self, client: httpx.AsyncClient, published: list[int]) -> None:
        first = (await client.get("/api/changelog", params={"limit": 4})).json()
        assert [e["serial"] for e in first["events"]] == published[:4]
        rest = (await client.get(first["next"])).json()
        assert [e["serial"] for e in rest["events"]] == published[4:]
        assert (await client.get(rest["next"])).json()["events"] == []

    async def test_a_full_page_is_immutable_and_a_partial_one_short_lived(
        self, client: httpx.AsyncClient, published: list[int]
    ) -> None:
        full = await client.get("/api/changelog", params={"limit": 2})
        assert "immutable" in full.headers["cache-control"]
        assert full.headers["surrogate-key"] == "changelog-archive"  # never purged: it never changes
        partial = await client.get("/api/changelog", params={"since": published[-2]})
        assert partial.headers["cache-control"].startswith("max-age=5")
        assert partial.headers["surrogate-key"] == "changelog"  # purged on every change

    @pytest.mark.parametrize("params", [{"since": -1}, {"limit": 0}, {"limit": 1001}, {"since": "x"},
                                        {"since": 2**63}])
    async def test_bad_parameters_are_422(self, client: httpx.AsyncClient, params: dict[str, object]) -> None:
        assert (await client.get("/api/changelog", params=params)).status_code == 422


class TestXmlRpc:
    async def test_changelog_last_serial(self, client: httpx.AsyncClient, published: list[int]) -> None:
        assert await rpc(client, "changelog_last_serial") == published[-1]

    async def test_changelog_since_serial(self, client: httpx.AsyncClient, published: list[int]) -> None:
        events = await rpc(client, "changelog_since_serial", published[2])
        assert [e[4] for e in events] == published[3:]  # (name, version, timestamp, action, serial)
        assert events[0][:2] == ["other-pkg", ""] and isinstance(events[0][2], int)

    async def test_list_packages_with_serial(self, client: httpx.AsyncClient, published: list[int]) -> None:
        packages = await rpc(client, "list_packages_with_serial")
        assert packages == {"demo": published[2], "other-pkg": published[5]}

    @pytest.mark.parametrize(("body", "code"), [
        (xmlrpc.client.dumps((), "no_such_method"), 1),
        (xmlrpc.client.dumps(("x",), "changelog_since_serial"), 2),
        (xmlrpc.client.dumps((True,), "changelog_since_serial"), 2),
        ("<not xml", 3),
        ("<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x 'y'>]><methodCall><methodName>&x;</methodName></methodCall>",
         None),
    ])
    async def test_bad_calls_answer_a_fault(self, client: httpx.AsyncClient, body: str, code: int | None) -> None:
        response = await client.post("/pypi", content=body, headers={"Content-Type": "text/xml"})
        assert response.status_code == 200
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(response.content)
        if code is not None:
            assert info.value.faultCode == code
        assert info.value.faultString

    async def test_an_oversized_call_is_refused(self, client: httpx.AsyncClient) -> None:
        body = xmlrpc.client.dumps(("x" * 70_000,), "changelog_since_serial")
        response = await client.post("/pypi", content=body)
        with pytest.raises(xmlrpc.client.Fault, match="larger than"):
            xmlrpc.client.loads(response.content)


class TestStream:
    async def test_follows_new_events_live_from_since(
        self, client: httpx.AsyncClient, db: Database, published: list[int], tmp_path: Path
    ) -> None:
        service = ChangelogService(db, poll_interval=0.01)
        received: list[dict] = []
        stop = asyncio.Event()

        async def read() -> None:
            async for message in service.follow(since=published[3], disconnected=_stopped(stop)):
                if message.startswith("id: "):
                    lines = dict(line.split(": ", 1) for line in message.strip().splitlines())
                    received.append({"id": int(lines["id"]), "event": lines["event"], **json.loads(lines["data"])})
                    if len(received) == 5:
                        stop.set()

        reader = asyncio.create_task(read())
        token = await make_user_with_token(db, "bob")
        wheel = build_wheel(subdir(tmp_path, "new"), name="newpkg", version="2.0")
        assert (await upload(client, wheel, token=token)).status_code == 200
        await asyncio.wait_for(reader, 10)
        assert [r["id"] for r in received] == sorted(r["id"] for r in received)
        assert [r["id"] for r in received][:2] == published[4:]
        assert [(r["project"], r["event"]) for r in received[2:]] == [
            ("newpkg", "project_created"), ("newpkg", "release_created"), ("newpkg", "file_added")]

    async def test_idle_streams_get_a_keep_alive_comment(self, db: Database, app: object) -> None:
        service = ChangelogService(db, poll_interval=0.01, heartbeat=0.03)
        stream = service.follow(since=0, disconnected=_never)
        assert await asyncio.wait_for(anext(stream), 5) == ": keep-alive\n\n"
        await stream.aclose()


def _stopped(event: asyncio.Event):  # noqa: ANN202
    async def disconnected() -> bool:
        return event.is_set()
    return disconnected


async def _never() -> bool:
    return False


class TestXmlRpcEncoding:
    @pytest.mark.parametrize("value", [{"a": 1, "b&<c>": 2**31 - 1}, {}, {"x": 1, "y": "not an int"}, [("a", 1)]])
    def test_answers_decode_like_the_standard_marshaller(self, value: object) -> None:
        from services.simple.xmlrpc import dump_result

        expected = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
        assert xmlrpc.client.loads(dump_result(value)) == xmlrpc.client.loads(expected)
        if isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):
            assert dump_result(value) == expected  # the fast path writes the very same bytes


class TestPackageListCache:
    async def test_reused_until_the_journal_moves(
        self, client: httpx.AsyncClient, db: Database, published: list[int], tmp_path: Path
    ) -> None:
        first = await rpc(client, "list_packages_with_serial")
        assert await rpc(client, "list_packages_with_serial") == first
        token = await make_user_with_token(db, "carol")
        wheel = build_wheel(subdir(tmp_path, "late"), name="late", version="1.0")
        assert (await upload(client, wheel, token=token)).status_code == 200
        assert set(await rpc(client, "list_packages_with_serial")) == {"demo", "other-pkg", "late"}
