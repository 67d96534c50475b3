"""Maintainer actions through the JSON API: yank, un-yank, delete (YNK-1/2, POL-7, MIR-2)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from shared.db import Database
from tests.factories.accounts import make_token, make_user, make_user_with_token
from tests.factories.queries import count_rows, grant_role, journal
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_sdist, build_wheel

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def published(client: httpx.AsyncClient, token: str, tmp_path: Path) -> list[Path]:
    files = [build_wheel(subdir(tmp_path, "w"), name="demo", version="1.0"), build_sdist(subdir(tmp_path, "s"), name="demo", version="1.0")]
    for path in files:
        assert (await upload(client, path, token=token)).status_code == 200
    return files


async def simple_json(client: httpx.AsyncClient) -> dict:
    response = await client.get("/simple/demo/", headers=JSON)
    assert response.status_code == 200
    return response.json()


class TestYank:
    async def test_ynk1_yank_with_reason_marks_every_file(
        self, client: httpx.AsyncClient, token: str, published: list[Path]
    ) -> None:
        response = await client.post("/api/projects/demo/releases/1.0/yank", json={"reason": "broken <build>"},
                                     headers=bearer(token))
        assert response.status_code == 200
        assert response.json() == {"project": "demo", "version": "1.0", "yanked": True, "yanked_reason": "broken <build>"}
        files = (await simple_json(client))["files"]
        assert [f["yanked"] for f in files] == ["broken <build>"] * 2
        html = (await client.get("/simple/demo/")).text
        assert html.count('data-yanked="broken &lt;build&gt;"') == 2

    async def test_ynk2_unyank_removes_the_marker_and_files_stay_downloadable(
        self, client: httpx.AsyncClient, token: str, published: list[Path]
    ) -> None:
        await client.post("/api/projects/demo/releases/1.0/yank", headers=bearer(token))
        files = (await simple_json(client))["files"]
        assert all(f["yanked"] is True for f in files)
        assert (await client.get(files[0]["url"])).status_code == 200
        assert (await client.post("/api/projects/demo/releases/1.0/unyank", headers=bearer(token))).status_code == 200
        assert all(f.get("yanked", False) is False for f in (await simple_json(client))["files"])

    async def test_mir2_each_action_raises_the_serial(
        self, client: httpx.AsyncClient, db: Database, token: str, published: list[Path]
    ) -> None:
        serials = []
        for action in ("yank", "unyank", "yank"):
            await client.post(f"/api/projects/demo/releases/1.0/{action}", headers=bearer(token))
            serials.append(int((await client.get("/simple/demo/")).headers["x-pypi-last-serial"]))
        assert serials == sorted(set(serials))
        assert [row[1] for row in await journal(db)][-3:] == ["release_yanked", "release_unyanked", "release_yanked"]

    async def test_only_owners_may_yank(self, client: httpx.AsyncClient, db: Database, published: list[Path]) -> None:
        other = await make_user_with_token(db, "mallory")
        response = await client.post("/api/projects/demo/releases/1.0/yank", headers=bearer(other))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "Forbidden"

    async def test_unknown_release_is_404(self, client: httpx.AsyncClient, token: str, published: list[Path]) -> None:
        response = await client.post("/api/projects/demo/releases/9.9/yank", headers=bearer(token))
        assert response.status_code == 404

    async def test_no_token_is_401(self, client: httpx.AsyncClient, published: list[Path]) -> None:
        assert (await client.post("/api/projects/demo/releases/1.0/yank")).status_code == 401


class TestDelete:
    async def test_pol7_deleted_file_is_gone_from_both_formats_and_serial_advances(
        self, client: httpx.AsyncClient, token: str, published: list[Path]
    ) -> None:
        before = await client.get("/simple/demo/")
        wheel_url = next(f["url"] for f in (await simple_json(client))["files"] if f["filename"].endswith(".whl"))
        response = await client.delete(f"/api/projects/demo/releases/1.0/files/{published[0].name}", headers=bearer(token))
        assert response.status_code == 204
        after = await client.get("/simple/demo/")
        assert published[0].name not in after.text
        assert published[0].name not in str(await simple_json(client))
        assert int(after.headers["x-pypi-last-serial"]) > int(before.headers["x-pypi-last-serial"])
        assert (await client.get(wheel_url)).status_code == 404

    async def test_delete_release_removes_its_files(
        self, client: httpx.AsyncClient, db: Database, token: str, published: list[Path]
    ) -> None:
        assert (await client.delete("/api/projects/demo/releases/1.0", headers=bearer(token))).status_code == 204
        counts = await count_rows(db)
        assert counts["files"] == 0 and counts["releases"] == 0 and counts["filename_registry"] == 2
        assert (await simple_json(client))["files"] == []

    async def test_delete_project_then_404_and_filenames_stay_taken(
        self, client: httpx.AsyncClient, db: Database, token: str, published: list[Path]
    ) -> None:
        assert (await client.delete("/api/projects/demo", headers=bearer(token))).status_code == 204
        assert (await client.get("/simple/demo/")).status_code == 404
        assert [row[1] for row in await journal(db)][-1] == "project_deleted"
        response = await upload(client, published[0], token=token)
        assert response.status_code == 400  # POL-1

    async def test_maintainers_may_upload_but_not_delete(
        self, client: httpx.AsyncClient, db: Database, published: list[Path], tmp_path: Path
    ) -> None:
        other = await make_user_with_token(db, "bob")
        await grant_role(db, "bob", "demo", "Maintainer")
        newer = build_wheel(subdir(tmp_path, "n"), name="demo", version="2.0")
        assert (await upload(client, newer, token=other)).status_code == 200
        response = await client.delete("/api/projects/demo", headers=bearer(other))
        assert response.status_code == 403
        assert (await count_rows(db))["projects"] == 1


class TestProjectStatus:
    async def set_status(self, client: httpx.AsyncClient, token: str, status: str, reason: str | None = None):  # noqa: ANN201
        return await client.post("/api/projects/demo/status", json={"status": status, "reason": reason},
                                 headers=bearer(token))

    async def test_sts1_html9_json10_owner_archives_then_uploads_are_refused(
        self, client: httpx.AsyncClient, token: str, published: list[Path], tmp_path: Path
    ) -> None:
        response = await self.set_status(client, token, "archived", "no longer maintained")
        assert response.status_code == 200
        assert response.json() == {"project": "demo", "status": "archived", "reason": "no longer maintained"}
        assert '<meta name="pypi:project-status" content="archived">' in (await client.get("/simple/demo/")).text
        assert (await simple_json(client))["project-status"] == {"status": "archived", "reason": "no longer maintained"}
        newer = build_wheel(subdir(tmp_path, "n"), name="demo", version="2.0")
        refused = await upload(client, newer, token=token)
        assert refused.status_code == 403 and "archived" in refused.text
        assert (await self.set_status(client, token, "active")).status_code == 200
        assert (await upload(client, newer, token=token)).status_code == 200

    async def test_sts3_deprecated_project_still_accepts_uploads(
        self, client: httpx.AsyncClient, token: str, published: list[Path], tmp_path: Path
    ) -> None:
        assert (await self.set_status(client, token, "deprecated", "use other")).status_code == 200
        newer = build_wheel(subdir(tmp_path, "n"), name="demo", version="2.0")
        assert (await upload(client, newer, token=token)).status_code == 200

    async def test_sts2_only_administrators_quarantine(
        self, client: httpx.AsyncClient, db: Database, token: str, published: list[Path]
    ) -> None:
        assert (await self.set_status(client, token, "quarantined")).status_code == 403
        await make_user(db, "admin", is_superuser=True)
        admin = await make_token(db, "admin")
        url = (await simple_json(client))["files"][0]["url"]
        assert (await self.set_status(client, admin, "quarantined", "malware report")).status_code == 200
        assert (await simple_json(client))["files"] == []
        assert (await client.get(url)).status_code == 404
        assert (await self.set_status(client, token, "active")).status_code == 403  # owners cannot lift it
        assert (await self.set_status(client, admin, "active")).status_code == 200
        assert len((await simple_json(client))["files"]) == 2

    async def test_mir2_status_change_is_a_journal_event(
        self, client: httpx.AsyncClient, db: Database, token: str, published: list[Path]
    ) -> None:
        before = int((await client.get("/simple/demo/")).headers["x-pypi-last-serial"])
        await self.set_status(client, token, "archived")
        assert [row[1] for row in await journal(db)][-1] == "project_status_changed"
        assert int((await client.get("/simple/demo/")).headers["x-pypi-last-serial"]) > before

    async def test_unknown_status_is_422(self, client: httpx.AsyncClient, token: str, published: list[Path]) -> None:
        response = await self.set_status(client, token, "frozen")
        assert response.status_code == 422 and response.json()["error"]["code"] == "ValidationFailed"
