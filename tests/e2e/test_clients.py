"""End to end: ``wheelhouse serve`` in a subprocess, driven by the real twine, pip and uv,
on SQLite + local files and on Postgres + S3 (UPL-1, UPL-9, UPL-10, MDF-1, YNK-1/2, HTML-4)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BIN, Server
from tests.factories.uploads import subdir
from tests.upload.validation.builders import build_sdist, build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@dataclass
class Published:
    token: str
    dists: dict[str, Path]


def run(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), env=server.env, cwd=server.tmp, text=True, capture_output=True, timeout=300)
    if check:
        assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def twine_upload(server: Server, token: str, *paths: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return run(server, str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar",
               "--repository-url", f"{server.url}/legacy/", "-u", "__token__", "-p", token, *extra,
               *map(str, paths), check=False)


def pip_install(server: Server, target: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(server, sys.executable, "-m", "pip", "install", "--index-url", f"{server.url}/simple/",
               "--target", str(target), *args, check=check)


def installed(target: Path) -> set[str]:
    return {p.name for p in target.glob("*.dist-info")}


@pytest.fixture(scope="module")
def published(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Published:
    token = server.user_token("alice")
    assert token.startswith("pypi-") and "\n" not in token
    tmp = tmp_path_factory.mktemp("dists")
    dists = {
        "lib-b-wheel": build_wheel(subdir(tmp, "lb"), name="lib-b", version="1.0",
                                   files={"lib_b/__init__.py": b"LIB = 'b'\n"}),
        "lib-b-sdist": build_sdist(subdir(tmp, "ls"), name="lib-b", version="1.0"),
        "app-a-wheel": build_wheel(subdir(tmp, "aa"), name="app-a", version="1.0",
                                   metadata_extra="Requires-Dist: lib-b>=1.0\n",
                                   files={"app_a/__init__.py": b"from lib_b import LIB\n"}),
    }
    result = twine_upload(server, token, *dists.values())
    assert result.returncode == 0, result.stdout + result.stderr
    return Published(token=token, dists=dists)


class TestTwine:
    def test_upl13_twine_publish_creates_projects(self, server: Server, published: Published) -> None:
        body = httpx.get(f"{server.url}/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
        assert {p["name"] for p in body["projects"]} == {"app-a", "lib-b"}

    def test_upl9_identical_reupload_succeeds(self, server: Server, published: Published) -> None:
        # twine 7 allows --skip-existing only for pypi.org; an identical re-upload answers 200 (UPL-9),
        # so re-running a publishing job succeeds without it.
        result = twine_upload(server, published.token, *published.dists.values())
        assert result.returncode == 0, result.stdout + result.stderr

    def test_upl10_different_file_under_taken_name_is_reported(
        self, server: Server, published: Published, tmp_path: Path
    ) -> None:
        other = build_wheel(subdir(tmp_path, "x"), name="lib-b", version="1.0", files={"lib_b/__init__.py": b"X=2\n"})
        result = twine_upload(server, published.token, other, extra=("--verbose",))
        assert result.returncode != 0
        assert "File already exists" in (result.stdout + result.stderr)  # the body, shown by --verbose

    def test_upl3_bad_token_is_refused(self, server: Server, published: Published, tmp_path: Path) -> None:
        wheel = build_wheel(subdir(tmp_path, "y"), name="lib-b", version="3.0")
        result = twine_upload(server, "pypi-" + "x" * 43, wheel)
        assert result.returncode != 0
        assert "403" in result.stdout + result.stderr


class TestPip:
    def test_pip_installs_with_dependencies_from_the_index(
        self, server: Server, published: Published, tmp_path: Path
    ) -> None:
        pip_install(server, tmp_path, "app-a")
        assert installed(tmp_path) == {"app_a-1.0.dist-info", "lib_b-1.0.dist-info"}

    def test_pip_require_hashes_with_the_published_hashes(
        self, server: Server, published: Published, tmp_path: Path
    ) -> None:
        lines = []
        for name in ("app-a", "lib-b"):
            urls = httpx.get(f"{server.url}/pypi/{name}/1.0/json").json()["urls"]
            hashes = " ".join(f"--hash=sha256:{u['digests']['sha256']}" for u in urls)
            lines.append(f"{name}==1.0 {hashes}")
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("\n".join(lines) + "\n")
        pip_install(server, tmp_path / "t", "--require-hashes", "-r", str(requirements))
        assert installed(tmp_path / "t") == {"app_a-1.0.dist-info", "lib_b-1.0.dist-info"}

    def test_pip_require_hashes_refuses_a_wrong_hash(self, server: Server, published: Published, tmp_path: Path) -> None:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text(f"lib-b==1.0 --hash=sha256:{'0' * 64}\n")
        result = pip_install(server, tmp_path / "t", "--require-hashes", "-r", str(requirements), check=False)
        assert result.returncode != 0
        assert "HASHES" in result.stderr.upper()

    def test_ynk_pip_skips_a_yanked_release_unless_pinned(
        self, server: Server, published: Published, tmp_path: Path
    ) -> None:
        newer = build_wheel(subdir(tmp_path, "n"), name="lib-b", version="2.0", files={"lib_b/__init__.py": b"LIB=2\n"})
        assert twine_upload(server, published.token, newer).returncode == 0
        yank = httpx.post(f"{server.url}/api/projects/lib-b/releases/2.0/yank", json={"reason": "broken"},
                          headers={"Authorization": f"Bearer {published.token}"})
        assert yank.status_code == 200
        pip_install(server, tmp_path / "latest", "lib-b")
        assert installed(tmp_path / "latest") == {"lib_b-1.0.dist-info"}
        pinned = pip_install(server, tmp_path / "pinned", "lib-b==2.0")
        assert installed(tmp_path / "pinned") == {"lib_b-2.0.dist-info"}
        assert "yanked" in (pinned.stdout + pinned.stderr).lower()


class TestUv:
    def test_uv_installs_with_dependencies_using_the_metadata_files(
        self, server: Server, published: Published, tmp_path: Path
    ) -> None:
        seen = len(server.requests())
        run(server, str(BIN / "uv"), "pip", "install", "--python", sys.executable, "--target", str(tmp_path),
            "--index-url", f"{server.url}/simple/", "app-a==1.0")
        assert installed(tmp_path) == {"app_a-1.0.dist-info", "lib_b-1.0.dist-info"}
        paths = [r["path"] for r in server.requests()[seen:] if r["method"] == "GET"]
        assert any(p.endswith("app_a-1.0-py3-none-any.whl.metadata") for p in paths), paths  # MDF-1, PEP 658
