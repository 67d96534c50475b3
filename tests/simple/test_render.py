"""Rendering of simple API pages (STANDARDS API-5, API-11, HTML-1..9, JSON-1..11, MDF-3, STS-2, MIR-3)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest

from services.simple.pages import FileEntry, IndexPage, ProjectPage
from services.simple.render import (
    API_VERSION,
    render_index_html,
    render_index_json,
    render_project_html,
    render_project_json,
)

API_VERSION_RE = re.compile(r"^\d+\.\d+$")
UPLOAD_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
UPLOADED = datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=timezone.utc)

# Keys the standards define; anything else must start with "_" (API-11).
PROJECT_KEYS = {"meta", "name", "files", "versions", "project-status", "alternate-locations"}
INDEX_KEYS = {"meta", "projects"}
META_KEYS = {"api-version"}
FILE_KEYS = {
    "filename",
    "url",
    "hashes",
    "requires-python",
    "dist-info-metadata",
    "gpg-sig",
    "yanked",
    "size",
    "upload-time",
    "core-metadata",
    "provenance",
}


def make_file(version: str = "1.0", *, kind: str = "wheel", **overrides: Any) -> FileEntry:
    filename = f"demo_pkg-{version}-py3-none-any.whl" if kind == "wheel" else f"demo_pkg-{version}.tar.gz"
    fields: dict[str, Any] = {
        "filename": filename,
        "url": f"https://files.example.org/packages/ab/cd/ef0123/{filename}",
        "sha256": hashlib.sha256(filename.encode()).hexdigest(),
        "size": 1234,
        "upload_time": UPLOADED,
        "requires_python": ">=3.8",
        "yanked": False,
        "yanked_reason": None,
        "core_metadata_sha256": ("a" * 64) if kind == "wheel" else None,
        "version": version,
    }
    fields.update(overrides)
    return FileEntry(**fields)


def make_page(*files: FileEntry, **overrides: Any) -> ProjectPage:
    versions = list(dict.fromkeys(f.version for f in files))
    fields: dict[str, Any] = {
        "name": "demo-pkg",
        "files": list(files),
        "versions": versions,
        "last_serial": 42,
    }
    fields.update(overrides)
    return ProjectPage(**fields)


def parse_html(body: bytes) -> Element:
    """HTML-1: parse in strict mode, which raises on any HTML5 parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document: Element = parser.parse(body)
    return document


def anchors(body: bytes) -> list[Element]:
    return parse_html(body).findall(".//a")


def meta_content(body: bytes, name: str) -> str | None:
    for meta in parse_html(body).findall(".//head/meta"):
        if meta.get("name") == name:
            return meta.get("content")
    return None


def project_json(page: ProjectPage) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(render_project_json(page))
    return body


def only_file_json(file: FileEntry) -> dict[str, Any]:
    entry: dict[str, Any]
    [entry] = project_json(make_page(file))["files"]
    return entry


def only_anchor(file: FileEntry) -> Element:
    [anchor] = anchors(render_project_html(make_page(file)))
    return anchor


class TestHtmlValidity:
    def test_html1_strict_parser_rejects_broken_markup(self) -> None:
        with pytest.raises(html5lib.html5parser.ParseError):
            parse_html(b"<html><a href='x'>no doctype</a>")

    def test_html1_project_page_is_valid_html5(self) -> None:
        page = make_page(
            make_file("1.0"),
            make_file("1.0", kind="sdist", yanked=True, yanked_reason='bad <build> & "quotes"'),
            make_file("2.0", requires_python=">=3.8,<4"),
        )
        body = render_project_html(page)
        assert body.startswith(b"<!DOCTYPE html>")
        parse_html(body)

    def test_html1_empty_project_page_is_valid_html5(self) -> None:
        parse_html(render_project_html(make_page()))

    def test_html1_status_page_is_valid_html5(self) -> None:
        page = make_page(make_file(), status="archived", status_reason="moved <elsewhere>")
        parse_html(render_project_html(page))

    def test_html1_index_page_is_valid_html5(self) -> None:
        parse_html(render_index_html(IndexPage(projects=[("a", 1), ("b-c", 2)], last_serial=2)))

    def test_html1_empty_index_page_is_valid_html5(self) -> None:
        parse_html(render_index_html(IndexPage(projects=[], last_serial=0)))

    def test_html1_declares_utf8(self) -> None:
        assert b'<meta charset="utf-8">' in render_project_html(make_page(make_file()))


class TestApiVersion:
    def test_api5_html_project_page_declares_version(self) -> None:
        content = meta_content(render_project_html(make_page(make_file())), "pypi:repository-version")
        assert content == API_VERSION == "1.4"
        assert API_VERSION_RE.match(content)

    def test_api5_html_index_page_declares_version(self) -> None:
        body = render_index_html(IndexPage(projects=[("a", 1)], last_serial=1))
        assert meta_content(body, "pypi:repository-version") == "1.4"

    def test_api5_json_project_page_declares_version(self) -> None:
        version = project_json(make_page(make_file()))["meta"]["api-version"]
        assert version == "1.4" and API_VERSION_RE.match(version)

    def test_api5_json_index_page_declares_version(self) -> None:
        version = json.loads(render_index_json(IndexPage(projects=[], last_serial=0)))["meta"]["api-version"]
        assert version == "1.4" and API_VERSION_RE.match(version)


class TestProjectHtml:
    def test_html3_one_anchor_per_file_with_filename_text(self) -> None:
        files = [make_file("1.0"), make_file("1.0", kind="sdist"), make_file("2.0")]
        found = anchors(render_project_html(make_page(*files)))
        assert [a.text for a in found] == [f.filename for f in files]
        for anchor in found:
            assert unquote(urlsplit(anchor.get("href")).path).rsplit("/", 1)[1] == anchor.text

    def test_html3_files_keep_the_given_order(self) -> None:
        files = [make_file("2.0"), make_file("1.0"), make_file("1.5")]
        found = anchors(render_project_html(make_page(*files)))
        assert [a.text for a in found] == [f.filename for f in files]

    def test_html4_href_carries_sha256_fragment(self) -> None:
        file = make_file()
        href = only_anchor(file).get("href")
        assert href == f"{file.url}#sha256={file.sha256}"
        assert urlsplit(href).fragment == f"sha256={file.sha256}"

    def test_html3_url_special_characters_round_trip(self) -> None:
        file = make_file(url="https://files.example.org/get?name=demo&v=1/demo_pkg-1.0-py3-none-any.whl")
        body = render_project_html(make_page(file))
        assert b"?name=demo&amp;v=1/" in body
        assert only_anchor(file).get("href") == f"{file.url}#sha256={file.sha256}"

    def test_html3_filename_special_characters_round_trip(self) -> None:
        file = make_file(filename='we"ird<&>-1.0.tar.gz', url="/packages/x/we%22ird%3C%26%3E-1.0.tar.gz")
        anchor = only_anchor(file)
        assert anchor.text == file.filename
        assert unquote(urlsplit(anchor.get("href")).path).rsplit("/", 1)[1] == anchor.text

    def test_html5_requires_python_is_escaped_and_round_trips(self) -> None:
        file = make_file(requires_python=">=3.8,<4")
        body = render_project_html(make_page(file))
        assert b'data-requires-python="&gt;=3.8,&lt;4"' in body
        assert only_anchor(file).get("data-requires-python") == ">=3.8,<4"

    def test_html5_quotes_and_ampersands_in_requires_python_are_escaped(self) -> None:
        file = make_file(requires_python='>=3.8,!="3.9"&')
        assert only_anchor(file).get("data-requires-python") == '>=3.8,!="3.9"&'

    @pytest.mark.parametrize("value", [None, ""])
    def test_html5_requires_python_absent_when_none(self, value: str | None) -> None:
        assert "data-requires-python" not in only_anchor(make_file(requires_python=value)).attrib

    def test_html6_not_yanked_has_no_attribute(self) -> None:
        assert "data-yanked" not in only_anchor(make_file(yanked=False, yanked_reason="ignored")).attrib

    @pytest.mark.parametrize("reason", [None, ""])
    def test_html6_yanked_without_reason_is_empty(self, reason: str | None) -> None:
        assert only_anchor(make_file(yanked=True, yanked_reason=reason)).get("data-yanked") == ""

    def test_html6_yanked_reason_is_escaped_and_round_trips(self) -> None:
        file = make_file(yanked=True, yanked_reason='broken <wheel> & "sdist"')
        body = render_project_html(make_page(file))
        assert b'data-yanked="broken &lt;wheel&gt; &amp; &quot;sdist&quot;"' in body
        assert only_anchor(file).get("data-yanked") == 'broken <wheel> & "sdist"'

    def test_html7_wheel_has_both_metadata_attributes(self) -> None:
        file = make_file(core_metadata_sha256="b" * 64)
        anchor = only_anchor(file)
        assert anchor.get("data-core-metadata") == f"sha256={'b' * 64}"
        assert anchor.get("data-dist-info-metadata") == anchor.get("data-core-metadata")

    def test_mdf3_sdist_has_no_metadata_attributes(self) -> None:
        anchor = only_anchor(make_file(kind="sdist"))
        assert "data-core-metadata" not in anchor.attrib
        assert "data-dist-info-metadata" not in anchor.attrib

    def test_html9_active_project_has_no_status_meta(self) -> None:
        body = render_project_html(make_page(make_file()))
        assert meta_content(body, "pypi:project-status") is None

    @pytest.mark.parametrize("status", ["archived", "deprecated", "quarantined"])
    def test_html9_status_meta_when_not_active(self, status: str) -> None:
        body = render_project_html(make_page(make_file(), status=status))
        assert meta_content(body, "pypi:project-status") == status
        assert meta_content(body, "pypi:project-status-reason") is None

    def test_html9_status_reason_meta_is_escaped(self) -> None:
        body = render_project_html(make_page(make_file(), status="archived", status_reason='use "new" <pkg>'))
        assert meta_content(body, "pypi:project-status-reason") == 'use "new" <pkg>'

    def test_sts2_quarantined_project_lists_no_files(self) -> None:
        body = render_project_html(make_page(make_file(), make_file("2.0"), status="quarantined"))
        assert anchors(body) == []
        assert b"demo_pkg-" not in body


class TestProjectJson:
    def test_json1_is_an_object_with_api_version(self) -> None:
        body = project_json(make_page(make_file()))
        assert isinstance(body, dict)
        assert body["meta"]["api-version"] == "1.4"

    def test_json3_has_name_meta_files_versions(self) -> None:
        page = make_page(make_file("1.0"), make_file("1.0", kind="sdist"), make_file("2.0"))
        body = project_json(page)
        assert body["name"] == "demo-pkg"
        assert isinstance(body["files"], list) and len(body["files"]) == 3
        assert body["versions"] == ["1.0", "2.0"]
        assert {f.version for f in page.files} <= set(body["versions"])

    def test_json3_versions_keep_the_given_order(self) -> None:
        body = project_json(make_page(versions=["1.0.dev1", "1.0a1", "1.0", "1!0.1"]))
        assert body["versions"] == ["1.0.dev1", "1.0a1", "1.0", "1!0.1"]
        assert body["files"] == []

    def test_json4_file_has_filename_url_hashes_size(self) -> None:
        file = make_file()
        entry = only_file_json(file)
        assert entry["filename"] == file.filename
        assert entry["url"] == file.url
        assert entry["hashes"] == {"sha256": file.sha256}
        assert SHA256_RE.match(entry["hashes"]["sha256"])
        assert entry["size"] == 1234 and isinstance(entry["size"], int)

    def test_json4_special_characters_in_strings_round_trip(self) -> None:
        file = make_file(
            filename='we"ird\\name-1.0.tar.gz',
            url='https://files.example.org/we"ird\\name-1.0.tar.gz?\x01',
        )
        entry = only_file_json(file)
        assert (entry["filename"], entry["url"]) == (file.filename, file.url)

    def test_json4_non_ascii_round_trips(self) -> None:
        file = make_file(url="https://files.example.org/pâquerette/demo_pkg-1.0-py3-none-any.whl")
        assert only_file_json(file)["url"] == file.url

    def test_json5_upload_time_format(self) -> None:
        assert only_file_json(make_file())["upload-time"] == "2024-03-01T12:30:45.123456Z"

    @pytest.mark.parametrize(
        ("moment", "expected"),
        [
            (datetime(2024, 3, 1, 0, 0, 0, tzinfo=timezone.utc), "2024-03-01T00:00:00.000000Z"),
            (datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc), "1999-12-31T23:59:59.999999Z"),
            (datetime(2024, 2, 29, 8, 5, 7, 1000, tzinfo=timezone.utc), "2024-02-29T08:05:07.001000Z"),
            (datetime(2024, 3, 1, 12, 0, 0, 5), "2024-03-01T12:00:00.000005Z"),  # naive is taken as UTC
            (datetime(2024, 3, 1, 1, tzinfo=timezone(timedelta(hours=2))), "2024-02-29T23:00:00.000000Z"),
        ],
    )
    def test_json5_upload_time_is_utc_with_microseconds(self, moment: datetime, expected: str) -> None:
        value = only_file_json(make_file(upload_time=moment))["upload-time"]
        assert value == expected
        assert UPLOAD_TIME_RE.match(value)

    def test_json6_requires_python_is_plain(self) -> None:
        assert only_file_json(make_file(requires_python=">=3.8,<4"))["requires-python"] == ">=3.8,<4"

    @pytest.mark.parametrize("value", [None, ""])
    def test_json6_requires_python_omitted_when_none(self, value: str | None) -> None:
        assert "requires-python" not in only_file_json(make_file(requires_python=value))

    def test_json7_core_metadata_when_set(self) -> None:
        entry = only_file_json(make_file(core_metadata_sha256="c" * 64))
        assert entry["core-metadata"] == {"sha256": "c" * 64}
        assert "dist-info-metadata" not in entry

    def test_mdf3_sdist_has_no_core_metadata(self) -> None:
        entry = only_file_json(make_file(kind="sdist"))
        assert "core-metadata" not in entry
        assert "dist-info-metadata" not in entry

    @pytest.mark.parametrize(
        ("yanked", "reason", "expected"),
        [
            (False, None, False),
            (False, "ignored when not yanked", False),
            (True, None, True),
            (True, "", True),
            (True, 'broken "build"\n<oops> ünïcode', 'broken "build"\n<oops> ünïcode'),
        ],
    )
    def test_json8_yanked_states(self, yanked: bool, reason: str | None, expected: object) -> None:
        assert only_file_json(make_file(yanked=yanked, yanked_reason=reason))["yanked"] == expected

    def test_json10_active_project_has_no_status(self) -> None:
        assert "project-status" not in project_json(make_page(make_file()))

    def test_json10_status_object(self) -> None:
        body = project_json(make_page(make_file(), status="deprecated", status_reason="use other-pkg"))
        assert body["project-status"] == {"status": "deprecated", "reason": "use other-pkg"}

    def test_json10_status_without_reason(self) -> None:
        assert project_json(make_page(status="archived"))["project-status"] == {"status": "archived"}

    def test_sts2_quarantined_project_lists_no_files(self) -> None:
        body = project_json(make_page(make_file(), make_file("2.0"), status="quarantined"))
        assert body["files"] == []
        assert body["versions"] == []
        assert body["project-status"] == {"status": "quarantined"}

    def test_mir3_meta_has_last_serial(self) -> None:
        assert project_json(make_page(make_file(), last_serial=987))["meta"]["_last-serial"] == 987

    def test_api11_unknown_keys_are_private(self) -> None:
        page = make_page(
            make_file(yanked=True, yanked_reason="x"),
            make_file(kind="sdist", requires_python=None),
            status="archived",
            status_reason="r",
        )
        body = project_json(page)
        assert _unknown_keys(body, PROJECT_KEYS) == set()
        assert _unknown_keys(body["meta"], META_KEYS) == {"_last-serial"}
        for entry in body["files"]:
            assert _unknown_keys(entry, FILE_KEYS) == set()


class TestLargePages:
    """Rows are rendered in slices; pages spanning several slices must still be one well-formed list."""

    COUNT = 1300

    def large_page(self) -> ProjectPage:
        files = [make_file(f"1.{i}") for i in range(self.COUNT)]
        files[700] = replace(files[700], url=files[700].url + '?a=1&b="2"')  # one dirty value, mid-page
        return make_page(*files)

    def test_json3_every_file_in_order(self) -> None:
        page = self.large_page()
        body = project_json(page)
        assert [f["filename"] for f in body["files"]] == [f.filename for f in page.files]
        assert body["files"][700]["url"] == page.files[700].url

    def test_html3_every_file_in_order(self) -> None:
        page = self.large_page()
        found = anchors(render_project_html(page))
        assert [a.text for a in found] == [f.filename for f in page.files]
        assert found[700].get("href") == f"{page.files[700].url}#sha256={page.files[700].sha256}"

    def test_json2_every_project_in_order(self) -> None:
        projects = [(f"project-{i}", i) for i in range(self.COUNT)]
        body = json.loads(render_index_json(IndexPage(projects=projects, last_serial=self.COUNT)))
        assert [(p["name"], p["_last-serial"]) for p in body["projects"]] == projects

    def test_html2_every_project_in_order(self) -> None:
        projects = [(f"project-{i}", i) for i in range(self.COUNT)]
        found = anchors(render_index_html(IndexPage(projects=projects, last_serial=self.COUNT)))
        assert [a.text for a in found] == [name for name, _ in projects]


class TestHtmlJsonAgreement:
    def test_json11_html_and_json_agree_field_by_field(self) -> None:
        page = make_page(
            make_file("1.0"),
            make_file("1.0", kind="sdist", requires_python=None),
            make_file("1.1", yanked=True),
            make_file("1.2", yanked=True, yanked_reason="security <issue> & more"),
            make_file("2.0", requires_python=">=3.8,<4", core_metadata_sha256="d" * 64),
            make_file("2.0", kind="sdist", url="https://x.example/a&b/demo_pkg-2.0.tar.gz"),
        )
        from_html = [_file_from_anchor(a) for a in anchors(render_project_html(page))]
        from_json = [_file_from_json(entry) for entry in project_json(page)["files"]]
        assert from_html == from_json
        assert len(from_json) == len(page.files)

    def test_json2_index_names_agree(self) -> None:
        page = IndexPage(projects=[("alpha", 3), ("beta-two", 9), ("c", 1)], last_serial=9)
        html_names = {a.text for a in anchors(render_index_html(page))}
        json_names = {p["name"] for p in json.loads(render_index_json(page))["projects"]}
        assert html_names == json_names == {"alpha", "beta-two", "c"}


class TestIndexPages:
    def test_html2_one_anchor_per_project(self) -> None:
        page = IndexPage(projects=[("alpha", 3), ("beta-two", 9)], last_serial=9)
        found = anchors(render_index_html(page))
        assert [(a.text, a.get("href")) for a in found] == [("alpha", "alpha/"), ("beta-two", "beta-two/")]

    def test_json2_projects_with_last_serial(self) -> None:
        page = IndexPage(projects=[("alpha", 3), ("beta-two", 9)], last_serial=11)
        body = json.loads(render_index_json(page))
        assert body["projects"] == [
            {"name": "alpha", "_last-serial": 3},
            {"name": "beta-two", "_last-serial": 9},
        ]
        assert body["meta"] == {"api-version": "1.4", "_last-serial": 11}

    def test_json2_empty_index(self) -> None:
        body = json.loads(render_index_json(IndexPage(projects=[], last_serial=0)))
        assert body == {"meta": {"api-version": "1.4", "_last-serial": 0}, "projects": []}

    def test_api11_index_unknown_keys_are_private(self) -> None:
        body = json.loads(render_index_json(IndexPage(projects=[("a", 1)], last_serial=1)))
        assert _unknown_keys(body, INDEX_KEYS) == set()
        assert _unknown_keys(body["projects"][0], {"name"}) == {"_last-serial"}


class TestPageModels:
    def test_json5_naive_upload_time_is_taken_as_utc(self) -> None:
        file = make_file(upload_time=datetime(2024, 1, 1, 10, 0))
        assert file.upload_time == datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)
        assert file.upload_time.tzinfo is timezone.utc

    def test_json5_other_zones_are_converted_to_utc(self) -> None:
        file = make_file(upload_time=datetime(2024, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=-5))))
        assert file.upload_time == datetime(2024, 1, 1, 15, 0, tzinfo=timezone.utc)
        assert file.upload_time.tzinfo is timezone.utc

    def test_sts3_default_status_is_active(self) -> None:
        assert make_page().status == "active"

    def test_json10_unknown_status_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown project status"):
            make_page(status="frozen")

    def test_sts2_quarantine_hides_files_and_versions(self) -> None:
        page = make_page(make_file(), status="quarantined")
        assert (page.listed_files, page.listed_versions) == ((), ())
        assert replace(page, status="deprecated").listed_files == page.files


def _unknown_keys(mapping: dict[str, Any], known: set[str]) -> set[str]:
    unknown = set(mapping) - known
    assert all(key.startswith("_") for key in unknown), unknown
    return unknown


def _file_from_anchor(anchor: Element) -> dict[str, Any]:
    url, _, fragment = anchor.get("href", "").partition("#")
    yanked: object = False
    if "data-yanked" in anchor.attrib:
        yanked = anchor.get("data-yanked") or True
    metadata = anchor.get("data-core-metadata")
    return {
        "filename": anchor.text,
        "url": url,
        "sha256": fragment.removeprefix("sha256="),
        "requires-python": anchor.get("data-requires-python"),
        "yanked": yanked,
        "core-metadata": metadata.removeprefix("sha256=") if metadata else None,
    }


def _file_from_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "filename": entry["filename"],
        "url": entry["url"],
        "sha256": entry["hashes"]["sha256"],
        "requires-python": entry.get("requires-python"),
        "yanked": entry["yanked"],
        "core-metadata": entry["core-metadata"]["sha256"] if "core-metadata" in entry else None,
    }
