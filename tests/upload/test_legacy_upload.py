"""The legacy upload endpoint through HTTP, on both backend pairs (STANDARDS §11, §16)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from shared.config import ServeSettings
from shared.db import Database
from tests.factories.accounts import make_token, make_user, make_user_with_token
from tests.factories.queries import count_rows, journal, project, set_project_status
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_sdist, build_wheel

NOTHING = {"projects": 0, "releases": 0, "files": 0, "filename_registry": 0, "journal": 0, "roles": 0}


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path, name="demo", version="1.0")


class TestPublish:
    async def test_upl13_first_upload_creates_project_release_and_owner(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path
    ) -> None:
        response = await upload(client, wheel, token=token)
        assert response.status_code == 200, response.text
        counts = await count_rows(db)
        assert counts == {"projects": 1, "releases": 1, "files": 1, "filename_registry": 1, "journal": 3, "roles": 1}
        assert [row[1] for row in await journal(db)] == ["project_created", "release_created", "file_added"]
        page = await client.get("/simple/demo/")
        assert wheel.name in page.text

    async def test_upl1_upload_without_trailing_slash_is_not_redirected(
        self, client: httpx.AsyncClient, token: str, wheel: Path
    ) -> None:
        response = await upload(client, wheel, token=token, url="/legacy")
        assert response.status_code == 200

    async def test_upl9_identical_reupload_answers_200_and_changes_nothing(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path
    ) -> None:
        assert (await upload(client, wheel, token=token)).status_code == 200
        before = await count_rows(db)
        again = await upload(client, wheel, token=token)
        assert again.status_code == 200
        assert await count_rows(db) == before

    async def test_upl10_different_bytes_under_a_taken_filename(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path, wheel: Path
    ) -> None:
        assert (await upload(client, wheel, token=token)).status_code == 200
        other = build_wheel(subdir(tmp_path, "other"), name="demo", version="1.0", files={"demo/extra.py": b"x = 1\n"})
        assert other.name == wheel.name
        response = await upload(client, other, token=token)
        assert response.status_code == 400
        assert response.text.startswith("File already exists")
        assert (await count_rows(db))["files"] == 1

    async def test_pol1_filename_is_never_reusable_after_deletion(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path
    ) -> None:
        assert (await upload(client, wheel, token=token)).status_code == 200
        deleted = await client.delete(f"/api/projects/demo/releases/1.0/files/{wheel.name}",
                                      headers={"Authorization": f"Bearer {token}"})
        assert deleted.status_code == 204
        response = await upload(client, wheel, token=token)
        assert response.status_code == 400
        assert "previously used" in response.text or "already been used" in response.text

    async def test_sd6_second_sdist_for_a_release_is_refused(
        self, client: httpx.AsyncClient, token: str, tmp_path: Path
    ) -> None:
        first = build_sdist(subdir(tmp_path, "a"), name="demo", version="1.0")
        assert (await upload(client, first, token=token)).status_code == 200
        second = build_sdist(subdir(tmp_path, "b"), name="demo", version="1.0.0", files={"demo-1.0.0/x.py": b"y=2\n"})
        response = await upload(client, second, token=token)
        assert response.status_code == 400
        assert "one sdist" in response.text

    async def test_html10_gpg_signature_is_ignored_and_no_asc_is_served(
        self, client: httpx.AsyncClient, token: str, wheel: Path
    ) -> None:
        from tests.factories.uploads import twine_fields

        files = {"content": (wheel.name, wheel.read_bytes(), "application/octet-stream"),
                 "gpg_signature": (wheel.name + ".asc", b"-----BEGIN PGP SIGNATURE-----", "application/octet-stream")}
        response = await client.post("/legacy/", data=twine_fields(wheel), files=files, auth=("__token__", token))
        assert response.status_code == 200, response.text
        page = (await client.get("/simple/demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})).json()
        url = page["files"][0]["url"]
        assert "data-gpg-sig" not in (await client.get("/simple/demo/")).text
        assert (await client.get(url + ".asc")).status_code == 404

    async def test_prv2_unverified_attestations_are_ignored(
        self, client: httpx.AsyncClient, token: str, wheel: Path
    ) -> None:
        response = await upload(client, wheel, token=token, attestations='[{"version": 1}]')
        assert response.status_code == 200, response.text
        page = (await client.get("/simple/demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})).json()
        assert "provenance" not in page["files"][0] or page["files"][0]["provenance"] is None
        assert "data-provenance" not in (await client.get("/simple/demo/")).text

    async def test_ver2_equal_versions_share_one_release_and_nam4_display_name_follows(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path
    ) -> None:
        first = build_wheel(subdir(tmp_path, "a"), name="Foo_Bar", version="1.0")
        second = build_sdist(subdir(tmp_path, "b"), name="foo-bar", version="1.0.0")
        assert (await upload(client, first, token=token)).status_code == 200
        assert (await upload(client, second, token=token)).status_code == 200
        assert (await count_rows(db))["releases"] == 1
        proj = await project(db, "foo-bar")
        assert proj is not None and proj.display_name == "foo-bar"


class TestAuthentication:
    async def test_upl3_missing_credentials_answer_401(self, client: httpx.AsyncClient, db: Database, wheel: Path) -> None:
        response = await upload(client, wheel, token=None)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert await count_rows(db) == NOTHING

    async def test_upl3_wrong_token_answers_403(self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token="pypi-" + "A" * 43)
        assert response.status_code == 403
        assert "token" in response.text.lower()

    async def test_upl3_password_login_is_refused(self, client: httpx.AsyncClient, db: Database, wheel: Path) -> None:
        await make_user(db, "alice")
        response = await client.post("/legacy/", data={":action": "file_upload"}, auth=("alice", "correct horse battery"))
        assert response.status_code == 403
        assert "API token" in response.text

    async def test_upl3_expired_token_answers_403(self, client: httpx.AsyncClient, db: Database, wheel: Path) -> None:
        await make_user(db, "alice")
        expired = await make_token(db, "alice", expires_in=timedelta(seconds=-1))
        response = await upload(client, wheel, token=expired)
        assert response.status_code == 403
        assert "expired" in response.text

    async def test_upl3_revoked_token_answers_403(self, client: httpx.AsyncClient, db: Database, wheel: Path) -> None:
        from services.accounts import service as accounts

        token = await make_user_with_token(db, "alice")
        async with db.write_session() as session:
            await accounts.revoke_token(session, token)
            await session.commit()
        response = await upload(client, wheel, token=token)
        assert response.status_code == 403
        assert "revoked" in response.text

    async def test_upl3_token_scoped_to_another_project_answers_403(
        self, client: httpx.AsyncClient, db: Database, wheel: Path
    ) -> None:
        scoped = await make_user_with_token(db, "alice", projects=["other"])
        response = await upload(client, wheel, token=scoped)
        assert response.status_code == 403
        assert "scoped" in response.text
        assert await count_rows(db) == NOTHING

    async def test_upl3_token_scoped_to_the_project_may_create_it(
        self, client: httpx.AsyncClient, db: Database, wheel: Path
    ) -> None:
        scoped = await make_user_with_token(db, "alice", projects=["Demo"])
        assert (await upload(client, wheel, token=scoped)).status_code == 200

    async def test_upl3_user_without_a_role_on_the_project_answers_403(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path, wheel: Path
    ) -> None:
        assert (await upload(client, wheel, token=token)).status_code == 200
        mallory = await make_user_with_token(db, "mallory")
        newer = build_wheel(subdir(tmp_path, "b"), name="demo", version="2.0")
        response = await upload(client, newer, token=mallory)
        assert response.status_code == 403
        assert "mallory" in response.text


class TestRejectionsLeaveNothing:
    async def test_upl5_wrong_sha256_is_refused(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path
    ) -> None:
        response = await upload(client, wheel, token=token, sha256_digest="0" * 64)
        assert response.status_code == 400
        assert "sha256_digest" in response.text
        assert await count_rows(db) == NOTHING

    async def test_upl5_wrong_blake2_is_refused(self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, blake2_256_digest="f" * 64)
        assert response.status_code == 400
        assert await count_rows(db) == NOTHING

    async def test_upl5_wrong_md5_is_refused(self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, md5_digest="0" * 32)
        assert response.status_code == 400 and "md5_digest" in response.text
        assert await count_rows(db) == NOTHING

    async def test_upl5_no_digest_at_all_is_refused(self, client: httpx.AsyncClient, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, sha256_digest=None, blake2_256_digest=None)
        assert response.status_code == 400 and "digest" in response.text

    @pytest.mark.parametrize("missing", ["name", "version", "filetype", "metadata_version"])
    async def test_upl6_missing_required_field(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path, missing: str
    ) -> None:
        response = await upload(client, wheel, token=token, **{missing: None})
        assert response.status_code == 400 and missing in response.text
        assert await count_rows(db) == NOTHING

    async def test_upl6_repeated_single_value_field(self, client: httpx.AsyncClient, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, summary=["one", "two"])
        assert response.status_code == 400 and "summary" in response.text

    async def test_missing_file_part(self, client: httpx.AsyncClient, token: str, wheel: Path) -> None:
        from tests.factories.uploads import twine_fields

        response = await client.post("/legacy/", data=twine_fields(wheel), files={"other": ("x.txt", b"x")},
                                     auth=("__token__", token))
        assert response.status_code == 400 and "content" in response.text

    async def test_upl2_protocol_version_2_is_refused(self, client: httpx.AsyncClient, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, protocol_version="2")
        assert response.status_code == 400

    async def test_upl2_retired_action_answers_410(self, client: httpx.AsyncClient, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, **{":action": "submit"})
        assert response.status_code == 410

    async def test_upl7_form_version_disagreeing_with_the_wheel(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path
    ) -> None:
        response = await upload(client, wheel, token=token, version="1.1")
        assert response.status_code == 400
        assert "1.1" in response.text
        assert await count_rows(db) == NOTHING

    async def test_upl4_filetype_disagreeing_with_extension(self, client: httpx.AsyncClient, token: str, wheel: Path) -> None:
        response = await upload(client, wheel, token=token, filetype="sdist")
        assert response.status_code == 400

    @pytest.mark.parametrize("filename", ["../demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.egg",
                                          "Demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-linux_x86_64.whl",
                                          "demo-1.0-py3-none-any.whl\x00"])
    async def test_whl1_bad_filenames_are_refused(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path, filename: str
    ) -> None:
        response = await upload(client, wheel, token=token, filename=filename)
        assert response.status_code == 400, response.text
        assert response.text.strip()
        assert await count_rows(db) == NOTHING

    async def test_whl7_trailing_data_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path, settings: ServeSettings
    ) -> None:
        content = wheel.read_bytes() + b"trailing"
        response = await upload(client, wheel, token=token, content=content, sha256_digest=None, blake2_256_digest=None,
                                md5_digest=__import__("hashlib").md5(content).hexdigest())
        assert response.status_code == 400
        assert await count_rows(db) == NOTHING

    async def test_malformed_multipart_is_a_400(self, client: httpx.AsyncClient, token: str) -> None:
        response = await client.post(
            "/legacy/", content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xyz--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=xyz"}, auth=("__token__", token),
        )
        assert response.status_code == 400
        assert "multipart" in response.text.lower()

    async def test_truncated_multipart_is_a_400(self, client: httpx.AsyncClient, token: str) -> None:
        response = await client.post(
            "/legacy/", content=b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
            headers={"Content-Type": "multipart/form-data; boundary=xyz"}, auth=("__token__", token),
        )
        assert response.status_code == 400

    async def test_sts1_archived_project_refuses_uploads(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path, wheel: Path
    ) -> None:
        assert (await upload(client, wheel, token=token)).status_code == 200
        await set_project_status(db, "demo", "archived")
        response = await upload(client, build_wheel(subdir(tmp_path, "b"), name="demo", version="2.0"), token=token)
        assert response.status_code == 403
        assert "archived" in response.text


class TestLimits:
    @pytest.fixture
    def settings(self, backend, tmp_path: Path) -> ServeSettings:  # noqa: ANN001
        return backend.settings(tmp_path / "data", max_file_size=4096, upload_tmp_dir=tmp_path / "spool")

    async def test_upl12_oversized_content_length_is_refused_before_the_body(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        async def endless() -> object:
            raise AssertionError("the body must not be read")
            yield b""  # pragma: no cover

        response = await client.post(
            "/legacy/", content=endless(), auth=("__token__", token),
            headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(10**9)},
        )
        assert response.status_code == 400
        assert "File too large" in response.text

    async def test_upl12_file_over_the_limit_is_refused_while_streaming(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path
    ) -> None:
        (tmp_path / "spool").mkdir()
        big = build_wheel(subdir(tmp_path, "big"), name="demo", version="1.0", files={"demo/blob.bin": __import__("os").urandom(8192)})
        response = await upload(client, big, token=token)
        assert response.status_code == 400
        assert "File too large" in response.text
        assert list((tmp_path / "spool").iterdir()) == []  # no temp file left behind
        assert await count_rows(db) == NOTHING


class TestInterruptedUpload:
    @pytest.fixture
    def settings(self, backend, tmp_path: Path) -> ServeSettings:  # noqa: ANN001
        return backend.settings(tmp_path / "data", upload_tmp_dir=tmp_path / "spool")

    async def test_client_disconnect_mid_body_leaves_nothing(
        self, app, db: Database, token: str, wheel: Path, tmp_path: Path  # noqa: ANN001
    ) -> None:
        import base64

        boundary = "xyzzy"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{wheel.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        chunks = [{"type": "http.request", "body": head + wheel.read_bytes()[:200], "more_body": True},
                  {"type": "http.disconnect"}]
        sent: list[dict] = []

        async def receive() -> dict:
            return chunks.pop(0) if chunks else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        auth = base64.b64encode(f"__token__:{token}".encode())
        scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/legacy/",
                 "raw_path": b"/legacy/", "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
                 "server": ("testserver", 80),
                 "headers": [(b"host", b"testserver"), (b"authorization", b"Basic " + auth),
                             (b"content-type", f"multipart/form-data; boundary={boundary}".encode())]}
        await app(scope, receive, send)
        assert sent[0]["status"] == 400
        assert await count_rows(db) == NOTHING
        spool = tmp_path / "spool"
        assert not spool.exists() or list(spool.iterdir()) == []


class TestProjectQuota:
    @pytest.fixture
    def settings(self, backend, tmp_path: Path) -> ServeSettings:  # noqa: ANN001
        return backend.settings(tmp_path / "data", max_project_size=3000)

    async def test_upl12_project_size_limit(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path
    ) -> None:
        first = build_wheel(subdir(tmp_path, "a"), name="demo", version="1.0", files={"demo/a.py": b"a" * 900})
        second = build_wheel(subdir(tmp_path, "b"), name="demo", version="2.0",
                             files={"demo/b.py": __import__("os").urandom(2500)})
        assert (await upload(client, first, token=token)).status_code == 200
        response = await upload(client, second, token=token)
        assert response.status_code == 400
        assert "Project size too large" in response.text
        assert (await count_rows(db))["files"] == 1


class TestConcurrentUploads:
    async def test_same_bytes_twice_at_once_make_one_row(
        self, client: httpx.AsyncClient, db: Database, token: str, wheel: Path
    ) -> None:
        responses = await asyncio.gather(*(upload(client, wheel, token=token) for _ in range(4)))
        assert [r.status_code for r in responses] == [200] * 4
        assert (await count_rows(db))["files"] == 1

    async def test_different_bytes_at_once_one_wins_the_others_get_400(
        self, client: httpx.AsyncClient, db: Database, token: str, tmp_path: Path
    ) -> None:
        wheels = [build_wheel(subdir(tmp_path, str(i)), name="demo", version="1.0", files={"demo/n.py": f"n={i}\n".encode()})
                  for i in range(3)]
        responses = await asyncio.gather(*(upload(client, w, token=token) for w in wheels))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 400, 400], [r.text for r in responses]
        assert all("File already exists" in r.text for r in responses if r.status_code == 400)
        assert (await count_rows(db))["files"] == 1
