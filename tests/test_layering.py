"""The import rules of STYLE §2, checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("upload", "simple", "search", "accounts")
COMPOSITION_ROOTS = ("services/cli", "services/all_in_one.py")
HTTP_FRAMEWORKS = ("fastapi", "starlette")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def _top(name: str, depth: int) -> str:
    return ".".join(name.split(".")[:depth])


@pytest.mark.parametrize("path", modules("shared"), ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_never_imports_services(path: Path) -> None:
    assert not {m for m in imports_of(path) if _top(m, 1) == "services"}


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    for path in modules("services", service):
        others = {m for m in imports_of(path) if _top(m, 1) == "services" and _top(m, 2) != f"services.{service}"}
        assert not others, f"{path.relative_to(ROOT)} imports {others}"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_modules_never_import_the_http_framework(service: str) -> None:
    for path in modules("services", service):
        rel = path.relative_to(ROOT / "services" / service)
        if rel.parts[0] in ("service", "validation") or rel.name in ("service.py", "repository.py", "errors.py"):
            framework = {m for m in imports_of(path) if _top(m, 1) in HTTP_FRAMEWORKS}
            assert not framework, f"{path.relative_to(ROOT)} imports {framework}"


@pytest.mark.parametrize("service", SERVICES)
def test_routes_never_touch_a_repository(service: str) -> None:
    routes = ROOT / "services" / service / "routes.py"
    if routes.exists():
        assert not {m for m in imports_of(routes) if m.endswith(".repository")}


def test_the_layering_check_sees_imports() -> None:
    """Guard against a check that passes because it parses nothing."""
    assert "services.upload.repository" in imports_of(ROOT / "services/upload/service/upload_file.py")
    assert len(modules("shared")) > 10
