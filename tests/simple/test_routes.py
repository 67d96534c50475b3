"""The simple-index service through HTTP, on both backend pairs (STANDARDS §3–8, §17)."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import httpx
import pytest

from shared.db import Database
from tests.factories.accounts import make_user_with_token
from tests.factories.queries import set_project_status
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_sdist, build_wheel

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON}, {HTML}; q=0.1, text/html; q=0.01"


@pytest.fixture
async def published(client: httpx.AsyncClient, db: Database, tmp_path: Path) -> dict[str, Path]:
    token = await make_user_with_token(db, "alice")
    files = {
        "wheel": build_wheel(subdir(tmp_path, "w"), name="demo", version="1.0",
                             metadata_extra="Requires-Python: >=3.8,<4\n"),
        "sdist": build_sdist(subdir(tmp_path, "s"), name="demo", version="1.0"),
        "other": build_wheel(subdir(tmp_path, "o"), name="Other.Pkg", version="0.1"),
    }
    for path in files.values():
        response = await upload(client, path, token=token)
        assert response.status_code == 200, response.text
    return files


async def get_json(client: httpx.AsyncClient, url: str) -> dict:
    response = await client.get(url, headers={"Accept": JSON})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    return response.json()


class TestIndex:
    async def test_api1_json2_root_lists_every_project(self, client: httpx.AsyncClient, published: dict) -> None:
        body = await get_json(client, "/simple/")
        assert {p["name"] for p in body["projects"]} == {"demo", "other-pkg"}
        assert re.match(r"^\d+\.\d+$", body["meta"]["api-version"])  # API-5
        html = await client.get("/simple/")
        assert html.headers["content-type"].startswith("text/html")
        assert html.text.count("<a ") == 2  # HTML-2

    async def test_mir1_mir3_root_serial_is_the_highest(self, client: httpx.AsyncClient, published: dict) -> None:
        response = await client.get("/simple/", headers={"Accept": JSON})
        body = response.json()
        serial = int(response.headers["x-pypi-last-serial"])
        assert serial == body["meta"]["_last-serial"]
        assert serial == max(p["_last-serial"] for p in body["projects"])

    async def test_api2_slashless_root_redirects(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/simple")
        assert response.status_code == 301 and response.headers["location"] == "/simple/"

    async def test_sts2_quarantined_project_leaves_the_root(
        self, client: httpx.AsyncClient, db: Database, published: dict
    ) -> None:
        await set_project_status(db, "other-pkg", "quarantined")
        names = {p["name"] for p in (await get_json(client, "/simple/"))["projects"]}
        assert names == {"demo"}


class TestProjectPage:
    async def test_neg1_three_media_types_and_html_bodies_agree(self, client: httpx.AsyncClient, published: dict) -> None:
        responses = {t: await client.get("/simple/demo/", headers={"Accept": t}) for t in (JSON, HTML, "text/html")}
        assert all(r.status_code == 200 for r in responses.values())
        assert responses[HTML].text == responses["text/html"].text
        assert responses[HTML].headers["content-type"] == HTML  # NEG-2
        assert responses[JSON].headers["vary"] == "Accept"  # API-10

    async def test_neg4_pip_header_gets_json(self, client: httpx.AsyncClient, published: dict) -> None:
        response = await client.get("/simple/demo/", headers={"Accept": PIP_ACCEPT})
        assert response.headers["content-type"] == JSON

    async def test_neg5_unacceptable_type_is_406(self, client: httpx.AsyncClient, published: dict) -> None:
        assert (await client.get("/simple/demo/", headers={"Accept": "application/json"})).status_code == 406

    async def test_neg6_format_parameter_overrides_accept(self, client: httpx.AsyncClient, published: dict) -> None:
        response = await client.get(f"/simple/demo/?format={JSON}", headers={"Accept": "text/html"})
        assert response.headers["content-type"] == JSON

    async def test_api3_non_normalised_name_redirects_keeping_the_query(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/simple/Other_Pkg/?format=x")
        assert response.status_code == 301
        assert response.headers["location"] == "/simple/other-pkg/?format=x"
        assert (await client.get("/simple/Other.Pkg")).headers["location"] == "/simple/other-pkg/"

    @pytest.mark.parametrize("accept", [JSON, "text/html"])
    async def test_api4_unknown_project_is_404(self, client: httpx.AsyncClient, accept: str) -> None:
        assert (await client.get("/simple/does-not-exist/", headers={"Accept": accept})).status_code == 404

    async def test_json3_json4_json5_json7_files_and_versions(self, client: httpx.AsyncClient, published: dict) -> None:
        body = await get_json(client, "/simple/demo/")
        assert body["name"] == "demo" and body["versions"] == ["1.0"]
        by_name = {f["filename"]: f for f in body["files"]}
        wheel, sdist = published["wheel"], published["sdist"]
        assert set(by_name) == {wheel.name, sdist.name}
        wheel_entry = by_name[wheel.name]
        assert wheel_entry["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert wheel_entry["size"] == wheel.stat().st_size
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$", wheel_entry["upload-time"])
        assert wheel_entry["requires-python"] == ">=3.8,<4"  # JSON-6
        assert "core-metadata" in wheel_entry and "core-metadata" not in by_name[sdist.name]  # MDF-3
        assert "dist-info-metadata" not in wheel_entry

    async def test_html5_requires_python_is_escaped(self, client: httpx.AsyncClient, published: dict) -> None:
        html = (await client.get("/simple/demo/")).text
        assert 'data-requires-python="&gt;=3.8,&lt;4"' in html
        assert '<meta name="pypi:repository-version" content="1.4">' in html

    async def test_mir1_project_serial_header_matches_meta(self, client: httpx.AsyncClient, published: dict) -> None:
        response = await client.get("/simple/demo/", headers={"Accept": JSON})
        assert int(response.headers["x-pypi-last-serial"]) == response.json()["meta"]["_last-serial"]

    async def test_api10_etag_and_304(self, client: httpx.AsyncClient, published: dict) -> None:
        first = await client.get("/simple/demo/", headers={"Accept": JSON})
        etag = first.headers["etag"]
        again = await client.get("/simple/demo/", headers={"Accept": JSON, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        other = await client.get("/simple/demo/", headers={"Accept": "text/html", "If-None-Match": etag})
        assert other.status_code == 200  # a different representation has a different ETag

    async def test_cache_headers_name_the_project(self, client: httpx.AsyncClient, published: dict) -> None:
        response = await client.get("/simple/demo/")
        assert response.headers["surrogate-key"] == "project/demo"
        assert "max-age" in response.headers["cache-control"]
        assert "stale-if-error" in response.headers["surrogate-control"]
        assert (await client.get("/simple/")).headers["surrogate-key"] == "simple-index"

    async def test_sts2_quarantined_project_lists_no_files(
        self, client: httpx.AsyncClient, db: Database, published: dict
    ) -> None:
        url = (await get_json(client, "/simple/demo/"))["files"][0]["url"]
        await set_project_status(db, "demo", "quarantined")
        body = await get_json(client, "/simple/demo/")
        assert body["files"] == [] and body["project-status"]["status"] == "quarantined"
        assert (await client.get(url)).status_code == 404


class TestFiles:
    async def test_api8_api9_every_href_downloads_the_advertised_bytes(
        self, client: httpx.AsyncClient, published: dict
    ) -> None:
        for entry in (await get_json(client, "/simple/demo/"))["files"]:
            assert entry["url"].rsplit("/", 1)[1] == entry["filename"]
            response = await client.get(entry["url"])
            assert response.status_code == 200
            assert hashlib.sha256(response.content).hexdigest() == entry["hashes"]["sha256"]
            assert "immutable" in response.headers["cache-control"]
            assert "content-encoding" not in response.headers

    async def test_api9_head_and_suffix_range(self, client: httpx.AsyncClient, published: dict) -> None:
        wheel = published["wheel"].read_bytes()
        url = next(f["url"] for f in (await get_json(client, "/simple/demo/"))["files"] if f["filename"].endswith(".whl"))
        head = await client.head(url)
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(wheel)
        assert head.headers["accept-ranges"] == "bytes"
        tail = await client.get(url, headers={"Range": "bytes=-22"})
        assert tail.status_code == 206 and tail.content == wheel[-22:]
        assert tail.headers["content-range"] == f"bytes {len(wheel) - 22}-{len(wheel) - 1}/{len(wheel)}"
        middle = await client.get(url, headers={"Range": "bytes=10-19"})
        assert middle.content == wheel[10:20]
        assert (await client.get(url, headers={"Range": f"bytes={len(wheel)}-"})).status_code == 416

    async def test_mdf1_mdf2_mdf4_metadata_file_is_the_wheels_metadata(
        self, client: httpx.AsyncClient, published: dict
    ) -> None:
        entry = next(f for f in (await get_json(client, "/simple/demo/"))["files"] if f["filename"].endswith(".whl"))
        response = await client.get(entry["url"] + ".metadata")
        assert response.status_code == 200
        with zipfile.ZipFile(published["wheel"]) as zf:
            member = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            assert response.content == zf.read(member)
        assert hashlib.sha256(response.content).hexdigest() == entry["core-metadata"]["sha256"]
        head = await client.head(entry["url"] + ".metadata")
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(response.content)

    async def test_mdf3_no_metadata_file_for_sdists(self, client: httpx.AsyncClient, published: dict) -> None:
        entry = next(f for f in (await get_json(client, "/simple/demo/"))["files"] if f["filename"].endswith(".tar.gz"))
        assert (await client.get(entry["url"] + ".metadata")).status_code == 404

    async def test_unknown_file_is_404(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/packages/aa/bb/cc/nothing-1.0.tar.gz")).status_code == 404


class TestJsonApi:
    async def test_mir6_project_json_has_what_mirrors_read(self, client: httpx.AsyncClient, published: dict) -> None:
        response = await client.get("/pypi/demo/json")
        assert response.status_code == 200
        body = response.json()
        assert body["info"]["name"] == "demo" and body["info"]["version"] == "1.0"
        assert body["info"]["requires_python"] == ">=3.8,<4"
        assert set(body["releases"]) == {"1.0"}
        assert {u["filename"] for u in body["urls"]} == {published["wheel"].name, published["sdist"].name}
        digests = {u["filename"]: u["digests"]["sha256"] for u in body["urls"]}
        assert digests[published["wheel"].name] == hashlib.sha256(published["wheel"].read_bytes()).hexdigest()
        assert body["last_serial"] == int(response.headers["x-pypi-last-serial"])
        assert body["urls"][0]["url"].startswith("http://testserver/packages/")

    async def test_release_json_and_unknown_version(self, client: httpx.AsyncClient, published: dict) -> None:
        body = (await client.get("/pypi/demo/1.0/json")).json()
        assert body["info"]["version"] == "1.0" and "releases" not in body
        assert (await client.get("/pypi/demo/9.0/json")).status_code == 404

    async def test_json_api_redirects_non_normalised_names(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/pypi/Other_Pkg/json")
        assert response.status_code == 301 and response.headers["location"] == "/pypi/other-pkg/json"


class TestRetired:
    @pytest.mark.parametrize("path", ["/serversig/demo", "/last-modified", "/local-stats/days"])
    async def test_mir4_pep381_routes_do_not_exist(self, client: httpx.AsyncClient, path: str) -> None:
        assert (await client.get(path)).status_code == 404

