"""PyPI's non-standard JSON API (``/pypi/<name>/json``; MIR-6): the fields mirrors
and tools read — info, releases, urls, digests, yanked, last_serial."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from packaging.version import Version

from shared.names import parse_version
from shared.schema import Release

_INFO_FIELDS = (
    "author", "author_email", "maintainer", "maintainer_email", "license", "license_expression",
    "description", "description_content_type", "home_page", "download_url", "summary",
)


def latest_release(releases: Sequence[Release]) -> Release | None:
    """VER-5: the highest non-yanked final release, else the highest non-yanked, else the highest."""
    def key(r: Release) -> Version:
        return parse_version(r.version) or Version("0")

    for pool in (
        [r for r in releases if not r.yanked and not r.is_prerelease],
        [r for r in releases if not r.yanked],
        list(releases),
    ):
        if pool:
            return max(pool, key=key)
    return None


def file_json(row: Any, *, base_url: str) -> dict[str, Any]:
    upload_time = row.upload_time
    return {
        "comment_text": "",
        "digests": {"md5": row.md5, "sha256": row.sha256, "blake2b_256": row.blake2b_256},
        "downloads": -1,
        "filename": row.filename,
        "has_sig": False,
        "md5_digest": row.md5,
        "packagetype": row.packagetype,
        "python_version": row.python_version,
        "requires_python": row.requires_python,
        "size": row.size,
        "upload_time": upload_time.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": f"{base_url}/packages/{row.path}",
        "yanked": bool(row.yanked),
        "yanked_reason": row.yanked_reason,
    }


def info_json(release: Release, *, display_name: str, base_url: str, name: str) -> dict[str, Any]:
    meta = release.core_metadata or {}
    info: dict[str, Any] = {field: meta.get(field) for field in _INFO_FIELDS}
    info.update(
        name=display_name,
        version=release.version,
        keywords=",".join(meta.get("keywords") or []),
        classifiers=meta.get("classifiers") or [],
        platform=",".join(meta.get("platforms") or []) or None,
        project_urls=meta.get("project_urls") or None,
        requires_dist=meta.get("requires_dist") or None,
        requires_python=release.requires_python or "",
        provides_extra=meta.get("provides_extra") or None,
        dynamic=meta.get("dynamic") or None,
        license_files=meta.get("license_files") or None,
        yanked=release.yanked,
        yanked_reason=release.yanked_reason,
        bugtrack_url=None,
        docs_url=None,
        package_url=f"{base_url}/project/{name}/",
        project_url=f"{base_url}/project/{name}/",
        release_url=f"{base_url}/project/{name}/{release.version}/",
    )
    return info


def project_json(
    *, name: str, display_name: str, releases: Sequence[Release], file_rows: Sequence[Any],
    last_serial: int, base_url: str, version: str | None = None,
) -> dict[str, Any] | None:
    """The document for the project (``version`` None) or one release; None if that release is missing."""
    by_version: dict[str, list[dict[str, Any]]] = {r.version: [] for r in releases}
    for row in file_rows:
        by_version.setdefault(row.version, []).append(file_json(row, base_url=base_url))
    chosen = latest_release(releases) if version is None else _find(releases, version)
    if chosen is None:
        return None
    doc: dict[str, Any] = {
        "info": info_json(chosen, display_name=display_name, base_url=base_url, name=name),
        "last_serial": last_serial,
        "urls": by_version.get(chosen.version, []),
        "vulnerabilities": [],
    }
    if version is None:
        doc["releases"] = by_version
    return doc


def _find(releases: Sequence[Release], version: str) -> Release | None:
    wanted = parse_version(version)
    for release in releases:
        if release.version == version or (wanted is not None and parse_version(release.version) == wanted):
            return release
    return None
