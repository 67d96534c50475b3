"""Core metadata validation (STANDARDS §15 CMD-1..11; NAM-3, VER-1..4, POL-4, POL-5, UPL-6)."""

from __future__ import annotations

from typing import Literal

import pytest
from packaging.metadata import parse_email

from services.upload.errors import InvalidMetadataError, UploadError
from services.upload.validation.metadata import _FIELDS, parse_core_metadata
from services.upload.validation.types import CoreMetadata, ValidationPolicy

PUBLIC = ValidationPolicy()


def metadata(
    *headers: str,
    metadata_version: str = "2.4",
    name: str = "sampleproject",
    version: str = "1.0",
    body: str | None = None,
) -> bytes:
    """A METADATA file: the three required headers, then ``headers``, then an optional body."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}", *headers]
    text = "\n".join(lines) + "\n"
    if body is not None:
        text += "\n" + body
    return text.encode("utf-8")


def parse(
    raw: bytes, *, source: Literal["wheel", "sdist"] = "wheel", policy: ValidationPolicy = PUBLIC
) -> CoreMetadata:
    return parse_core_metadata(raw, source=source, policy=policy)


def rejected(raw: bytes, match: str, **kwargs: object) -> InvalidMetadataError:
    """Assert that ``raw`` is refused with a 400 whose message contains ``match``."""
    with pytest.raises(InvalidMetadataError, match=match) as info:
        parse(raw, **kwargs)  # type: ignore[arg-type]
    assert info.value.status_code == 400
    return info.value


FULL_2_4 = """\
Metadata-Version: 2.4
Name: Sample_Project
Version: 2.1.0-rc.1
Dynamic: Requires-Dist
Dynamic: provides-extra
Platform: any
Supported-Platform: RedHat 9.4
Summary: A sample Python project
Keywords: sample, setuptools , development
Home-page: https://github.com/pypa/sampleproject
Download-URL: https://example.org/sampleproject-2.1.0rc1.tar.gz
Author: A. Random Developer
Author-email: "A. Random Developer" <author@example.com>
Maintainer: Another Person
Maintainer-email: Another Person <maint@example.com>, other@example.com
License-Expression: mit or apache-2.0
License-File: LICENSE.txt
License-File: LICENSES/Apache-2.0.txt
Classifier: Development Status :: 3 - Alpha
Classifier: Programming Language :: Python :: 3 :: Only
Requires-Dist: peppercorn
Requires-Dist: check-manifest; extra == "dev"
Requires-Dist: coverage>=7; extra == "test"
Provides-Dist: sampleproject-compat (2.1)
Obsoletes-Dist: oldsample<1.0
Requires-Python: >=3.9,<4
Requires-External: libpng (>=1.5)
Project-URL: Bug Reports, https://github.com/pypa/sampleproject/issues
Project-URL: Source, https://github.com/pypa/sampleproject/
Provides-Extra: dev
Provides-Extra: test
Description-Content-Type: text/markdown; charset=UTF-8; variant=GFM

# A sample Python project

A *sample* project that exists as an aid to the
[Python Packaging User Guide](https://packaging.python.org).
"""


class TestRoundTrip:
    """A realistic file with every field becomes the expected CoreMetadata."""

    def test_full_2_4_file_round_trips(self) -> None:
        """CMD-1..10, VER-3: every 2.4 field is parsed, normalised where the standards say so."""
        result = parse(FULL_2_4.encode())
        assert result == CoreMetadata(
            metadata_version="2.4",
            name="Sample_Project",
            version="2.1.0rc1",
            summary="A sample Python project",
            description=(
                "# A sample Python project\n\nA *sample* project that exists as an aid to the\n"
                "[Python Packaging User Guide](https://packaging.python.org).\n"
            ),
            description_content_type="text/markdown; charset=UTF-8; variant=GFM",
            keywords=["sample", "setuptools", "development"],
            home_page="https://github.com/pypa/sampleproject",
            download_url="https://example.org/sampleproject-2.1.0rc1.tar.gz",
            author="A. Random Developer",
            author_email='"A. Random Developer" <author@example.com>',
            maintainer="Another Person",
            maintainer_email="Another Person <maint@example.com>, other@example.com",
            license=None,
            license_expression="MIT OR Apache-2.0",
            license_files=["LICENSE.txt", "LICENSES/Apache-2.0.txt"],
            classifiers=["Development Status :: 3 - Alpha", "Programming Language :: Python :: 3 :: Only"],
            platforms=["any"],
            supported_platforms=["RedHat 9.4"],
            requires_dist=["peppercorn", 'check-manifest; extra == "dev"', 'coverage>=7; extra == "test"'],
            provides_dist=["sampleproject-compat (2.1)"],
            obsoletes_dist=["oldsample<1.0"],
            requires_external=["libpng (>=1.5)"],
            requires_python=">=3.9,<4",
            project_urls={
                "Bug Reports": "https://github.com/pypa/sampleproject/issues",
                "Source": "https://github.com/pypa/sampleproject/",
            },
            provides_extra=["dev", "test"],
            dynamic=["Requires-Dist", "Provides-Extra"],
            import_names=[],
            import_namespaces=[],
        )

    def test_import_fields_in_2_5(self) -> None:
        """CMD-11: Import-Name and Import-Namespace round-trip in a 2.5 file."""
        raw = metadata(
            "Import-Name: sample",
            "Import-Name: sample._speedups ;  private",
            "Import-Namespace: sample_plugins",
            metadata_version="2.5",
        )
        result = parse(raw)
        assert result.import_names == ["sample", "sample._speedups; private"]
        assert result.import_namespaces == ["sample_plugins"]

    def test_legacy_1_2_file_with_license_text(self) -> None:
        """CMD-1, CMD-2: an old sdist PKG-INFO with a folded License header and UNKNOWN placeholders."""
        raw = metadata(
            "Summary: Old project",
            "Home-page: UNKNOWN",
            "License: Copyright (c) 2010 Someone",
            "        All rights reserved.",
            "Description: First line",
            "        Second line",
            "Platform: UNKNOWN",
            metadata_version="1.2",
        )
        result = parse(raw, source="sdist")
        assert result.license == "Copyright (c) 2010 Someone\nAll rights reserved."
        assert result.description == "First line\nSecond line"
        assert result.home_page is None
        assert result.platforms == []

    def test_to_json_is_serialisable(self) -> None:
        """The stored form of the metadata is plain JSON data."""
        import json

        assert json.loads(json.dumps(parse(FULL_2_4.encode()).to_json()))["version"] == "2.1.0rc1"


class TestParsingCMD1:
    """CMD-1: email headers, UTF-8 only, Description in header or body."""

    def test_cmd1_rejects_non_utf8_bytes(self) -> None:
        """CMD-1 Test: non-UTF-8 bytes → 400."""
        raw = metadata("Summary: caf\xe9").replace("café".encode(), "café".encode("latin-1"))
        error = rejected(raw, "not valid UTF-8")
        assert "line 4" in error.message

    def test_cmd1_rejects_description_in_header_and_body(self) -> None:
        """CMD-1 Test: header+body description → 400."""
        rejected(
            metadata("Description: in the header", body="and in the body\n"),
            "both as a header and as the message body",
        )

    def test_cmd1_placeholder_description_header_does_not_clash_with_body(self) -> None:
        """CMD-1, UPL-6: `Description: UNKNOWN` is absent, so a body description is not "both"."""
        assert parse(metadata("Description: UNKNOWN", body="Real text\n")).description == "Real text\n"

    def test_cmd1_packaging_validation_is_a_backstop(self) -> None:
        """CMD-1: anything packaging.metadata refuses that the field checks missed is still refused."""
        rejected(
            metadata("Description-Content-Type: text/x-rst;;"),
            "Invalid core metadata: .*not a valid content type",
        )

    def test_cmd1_accepts_description_in_body(self) -> None:
        """CMD-1: the body holds the description."""
        assert parse(metadata(body="Long text\n")).description == "Long text\n"

    def test_cmd1_unfolds_description_header(self) -> None:
        """CMD-1: the ``7 spaces + |`` folding of a Description header is undone."""
        raw = metadata("Description: Title", "       |", "       |    indented", metadata_version="2.1")
        assert parse(raw).description == "Title\n\n    indented"

    def test_cmd1_field_names_are_case_insensitive(self) -> None:
        """CMD-1: field names are case-insensitive."""
        raw = b"metadata-version: 2.1\nNAME: foo\nversion: 1.0\nhome-PAGE: https://example.org\n"
        result = parse(raw)
        assert (result.name, result.home_page) == ("foo", "https://example.org")

    def test_cmd1_rejects_oversized_file(self) -> None:
        """CMD-1: files over policy.max_metadata_bytes are refused."""
        raw = metadata(body="x" * 2000)
        rejected(raw, "larger than this index's limit of 1000 bytes", policy=ValidationPolicy(max_metadata_bytes=1000))

    def test_cmd1_rejects_line_that_is_not_a_header(self) -> None:
        """CMD-1: a header line without a colon is refused, not silently moved to the body."""
        rejected(metadata("Summary: ok", "Requires-Dist foo"), "'Requires-Dist foo' is not a 'Field: value' header")

    def test_cmd1_rejects_indented_first_line(self) -> None:
        """CMD-1: the first line must be a header."""
        rejected(b" Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n", "first line starts with whitespace")

    def test_cmd1_rejects_byte_order_mark(self) -> None:
        """CMD-1: a UTF-8 BOM is refused with a clear message."""
        rejected(b"\xef\xbb\xbf" + metadata(), "byte order mark")

    def test_cmd1_uploaded_errors_are_4xx_upload_errors(self) -> None:
        """UPL-11: validation failures are UploadError (400), never 5xx."""
        error = rejected(metadata("Foo: bar"), "Foo|foo")
        assert isinstance(error, UploadError)


class TestMetadataVersionCMD2:
    """CMD-2: Metadata-Version is required and known; wheels need 1.1 or later."""

    @pytest.mark.parametrize("declared", ["2.7", "3.0", "1.3", "2.10", "two"])
    def test_cmd2_rejects_unknown_versions(self, declared: str) -> None:
        """CMD-2 Test: `2.7`, `3.0` → 400."""
        rejected(metadata(metadata_version=declared), "not a known core metadata version; use one of 1.0, 1.1")

    def test_cmd2_rejects_2_0(self) -> None:
        """CMD-2 Test: `2.0` → 400."""
        rejected(metadata(metadata_version="2.0"), "there is no core metadata version 2.0")

    def test_cmd2_rejects_wheel_declaring_1_0(self) -> None:
        """CMD-2 Test: a wheel declaring 1.0 → 400."""
        rejected(metadata(metadata_version="1.0"), "wheels need Metadata-Version 1.1 or later")

    def test_cmd2_accepts_sdist_declaring_1_0(self) -> None:
        """CMD-2: 1.0 is fine in an sdist's PKG-INFO."""
        assert parse(metadata(metadata_version="1.0"), source="sdist").metadata_version == "1.0"

    @pytest.mark.parametrize("declared", ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6"])
    def test_cmd2_accepts_known_versions(self, declared: str) -> None:
        """CMD-2: 1.1–2.5 MUST, 2.6 SHOULD be accepted."""
        assert parse(metadata(metadata_version=declared)).metadata_version == declared

    def test_cmd2_requires_metadata_version(self) -> None:
        """CMD-2: Metadata-Version is required."""
        rejected(b"Name: foo\nVersion: 1.0\n", "Missing Metadata-Version")

    def test_cmd2_requires_name(self) -> None:
        """CMD-2: Name is required."""
        rejected(b"Metadata-Version: 2.1\nVersion: 1.0\n", "Missing Name")

    def test_cmd2_requires_version(self) -> None:
        """CMD-2: Version is required."""
        rejected(b"Metadata-Version: 2.1\nName: foo\n", "Missing Version")


class TestFieldAgesCMD3:
    """CMD-3: fields newer than the declared Metadata-Version are refused."""

    def test_cmd3_rejects_license_expression_in_2_1(self) -> None:
        """CMD-3 Test: License-Expression in 2.1 → 400."""
        rejected(
            metadata("License-Expression: MIT", metadata_version="2.1"),
            "'License-Expression': added in Metadata-Version 2.4, but this file declares 2.1",
        )

    def test_cmd3_ignores_license_file_in_2_1(self) -> None:
        """CMD-3 Test: License-File in 2.1 → accepted, field ignored."""
        assert parse(metadata("License-File: LICENSE", metadata_version="2.1")).license_files == []

    @pytest.mark.parametrize(
        ("header", "declared", "added"),
        [
            ("Classifier: Topic :: Software Development", "1.0", "1.1"),
            ("Maintainer: Someone", "1.1", "1.2"),
            ("Description-Content-Type: text/plain", "1.2", "2.1"),
            ("Dynamic: Summary", "2.1", "2.2"),
            ("Import-Name: foo", "2.4", "2.5"),
        ],
    )
    def test_cmd3_rejects_fields_newer_than_declared(self, header: str, declared: str, added: str) -> None:
        """CMD-3: each field is checked against the version that added it."""
        rejected(metadata(header, metadata_version=declared), f"added in Metadata-Version {added}", source="sdist")


class TestFieldNamesCMD4:
    """CMD-4: single-use fields once; unknown fields refused."""

    def test_cmd4_rejects_two_name_lines(self) -> None:
        """CMD-4 Test: two `Name:` lines → 400."""
        rejected(metadata("Name: other"), "'Name': given 2 times but may appear only once")

    @pytest.mark.parametrize("header", ["Summary", "Keywords", "Metadata-Version", "Description", "Requires-Python"])
    def test_cmd4_rejects_repeated_single_use_fields(self, header: str) -> None:
        """CMD-4: every single-use field may appear once."""
        value = "2.1" if header == "Metadata-Version" else "x"
        rejected(metadata(f"{header}: {value}", f"{header}: {value}"), f"'{header}': given")

    def test_cmd4_rejects_unknown_fields(self) -> None:
        """CMD-4: unknown fields are refused (SHOULD)."""
        rejected(metadata("Home-Page-URL: https://example.org"), "'Home-Page-URL': not a core metadata field")

    def test_cmd4_field_table_matches_packaging(self) -> None:
        """CMD-4: every field the index knows is one packaging.metadata parses under the same key."""
        for key, field in _FIELDS.items():
            raw, unparsed = parse_email(f"{field.header}: x\n")
            assert (list(raw), unparsed) == ([key], {}), field.header

    def test_cmd4_accepts_repeated_multi_use_fields(self) -> None:
        """CMD-4: multi-use fields may repeat."""
        result = parse(metadata("Platform: linux", "Platform: win32"))
        assert result.platforms == ["linux", "win32"]


class TestNameAndVersionCMD5:
    """CMD-5 with NAM-3 and VER-1..4."""

    @pytest.mark.parametrize("name", ["-foo", "foo-", "foo bar", "foö", "foo\n ", "foo "])
    def test_nam3_rejects_invalid_names(self, name: str) -> None:
        """NAM-3 Test: `-foo`, `foo-`, `foo bar`, `foö`, `foo\\n` → rejected."""
        rejected(metadata(name=name), "Invalid Name .*ASCII letters, digits")

    def test_nam3_rejects_empty_name(self) -> None:
        """NAM-3 Test: empty → rejected."""
        rejected(metadata(name=""), "Missing Name")

    @pytest.mark.parametrize("name", ["a", "A1.b_c-d"])
    def test_nam3_accepts_valid_names(self, name: str) -> None:
        """NAM-3 Test: `a`, `A1.b_c-d` accepted, kept as written (NAM-4 display name)."""
        assert parse(metadata(name=name)).name == name

    @pytest.mark.parametrize("version", ["1.0-foo", "latest", "1.0.0-rc.1.2"])
    def test_ver1_rejects_non_pep440_versions(self, version: str) -> None:
        """VER-1 Test: `1.0-foo`, `latest`, `1.0.0-rc.1.2` rejected."""
        rejected(metadata(version=version), "not a valid PEP 440 version")

    @pytest.mark.parametrize(("version", "stored"), [("v1.0", "1.0"), (" 1.0 ", "1.0")])
    def test_ver1_accepts_lenient_spellings(self, version: str, stored: str) -> None:
        """VER-1 Test: `v1.0`, ` 1.0 ` accepted."""
        assert parse(metadata(version=version)).version == stored

    @pytest.mark.parametrize(
        ("version", "stored"),
        [("1.0c1", "1.0rc1"), ("1.0alpha2", "1.0a2"), ("1.0.0", "1.0.0"), ("V1.0-2", "1.0.post2")],
    )
    def test_ver2_alternate_spellings_normalise(self, version: str, stored: str) -> None:
        """VER-2: `1.0c1` is the same release as `1.0rc1` (alternate spellings normalised)."""
        assert parse(metadata(version=version)).version == stored

    @pytest.mark.parametrize(("version", "stored"), [("1.0-r1", "1.0.post1"), ("1!2.0", "1!2.0"), ("1.0RC1", "1.0rc1")])
    def test_ver3_stores_normalised_version(self, version: str, stored: str) -> None:
        """VER-3 Test: upload `1.0-r1` → `1.0.post1`."""
        assert parse(metadata(version=version)).version == stored

    def test_ver4_rejects_local_versions(self) -> None:
        """VER-4 Test: `1.0+local` → 400 mentioning local versions."""
        rejected(metadata(version="1.0+local"), r"local versions \('\+local'\) are not allowed.*upload it as '1.0'")

    def test_ver4_private_index_may_allow_local_versions(self) -> None:
        """VER-4: a private deployment may enable local versions."""
        raw = metadata(version="1.0+Local.1")
        assert parse(raw, policy=ValidationPolicy(allow_local_versions=True)).version == "1.0+local.1"

    @pytest.mark.parametrize("field", ["Version", "Name", "Metadata-Version", "version"])
    def test_cmd5_dynamic_cannot_list_required_fields(self, field: str) -> None:
        """CMD-5 Test: `Dynamic: Version` → 400."""
        rejected(metadata(f"Dynamic: {field}"), "can never be dynamic")

    def test_cmd5_dynamic_lists_only_real_fields(self) -> None:
        """CMD-5: Dynamic may list only real field names."""
        rejected(metadata("Dynamic: Readme"), "'Readme': not a core metadata field name")

    def test_cmd5_dynamic_is_stored_canonically(self) -> None:
        """CMD-5: field names are case-insensitive; stored in their canonical spelling."""
        assert parse(metadata("Dynamic: requires-python", "Dynamic: LICENSE-FILE")).dynamic == [
            "Requires-Python",
            "License-File",
        ]


class TestDependenciesCMD6:
    """CMD-6: Requires-Python and the *-Dist fields."""

    def test_cmd6_rejects_invalid_requires_python(self) -> None:
        """CMD-6 Test: `>3.8.*` → 400."""
        rejected(
            metadata("Requires-Python: >3.8.*"),
            "Invalid Requires-Python '>3.8.*': not a valid version specifier set",
        )

    def test_cmd6_rejects_requires_python_with_marker(self) -> None:
        """CMD-6: Requires-Python has no markers."""
        rejected(metadata('Requires-Python: >=3.8; os_name == "nt"'), "not a valid version specifier set")

    def test_cmd6_rejects_direct_reference(self) -> None:
        """CMD-6 Test: `x @ https://h/x.whl` → 400."""
        rejected(metadata("Requires-Dist: x @ https://h/x.whl"), "direct references .* are not allowed on this index")

    def test_cmd6_private_index_may_allow_direct_references(self) -> None:
        """CMD-6: policy.allow_direct_references lets a private index accept them."""
        raw = metadata("Requires-Dist: x @ https://h/x.whl")
        result = parse(raw, policy=ValidationPolicy(allow_direct_references=True))
        assert result.requires_dist == ["x @ https://h/x.whl"]

    @pytest.mark.parametrize(
        "header", [
            "Requires-Dist: foo >=",
            "Requires-Dist: foo; bogus == 1",
            "Provides-Dist: !!",
            "Obsoletes-Dist: a b",
        ],
    )
    def test_cmd6_rejects_invalid_dependency_specifiers(self, header: str) -> None:
        """CMD-6: Requires-Dist, Provides-Dist and Obsoletes-Dist are PEP 508 specifiers."""
        rejected(metadata(header), "not a valid dependency specifier")

    def test_cmd6_rejects_direct_reference_in_obsoletes_dist(self) -> None:
        """CMD-6: no direct references in any *-Dist field."""
        rejected(metadata("Obsoletes-Dist: x @ https://h/x.whl"), "direct references")

    def test_cmd6_accepts_legacy_provides_dist_version(self) -> None:
        """CMD-6: the core metadata spec's `AnotherProject (3.4)` Provides-Dist form."""
        raw = metadata("Provides-Dist: AnotherProject (3.4)", 'Provides-Dist: virtual; python_version >= "3.4"')
        assert parse(raw).provides_dist == ["AnotherProject (3.4)", 'virtual; python_version >= "3.4"']


class TestDescriptionCMD7:
    """CMD-7: Description-Content-Type and rendering."""

    @pytest.mark.parametrize(
        ("content_type", "match"),
        [
            ("text/html", "not a supported content type"),
            ("markdown", "not a supported content type"),
            ("text/plain; charset=latin-1", "only charset=UTF-8"),
            ("text/markdown; variant=Original", "unknown Markdown variant"),
        ],
    )
    def test_cmd7_rejects_bad_content_types(self, content_type: str, match: str) -> None:
        """CMD-7 Test: `text/html` → 400."""
        rejected(metadata(f"Description-Content-Type: {content_type}"), match)

    @pytest.mark.parametrize(
        "content_type", ["text/plain", "TEXT/X-RST; charset=utf-8", "text/markdown; variant=CommonMark"]
    )
    def test_cmd7_accepts_allowed_content_types(self, content_type: str) -> None:
        """CMD-7: the three types, charset UTF-8, markdown variants GFM and CommonMark."""
        assert parse(metadata(f"Description-Content-Type: {content_type}")).description_content_type == content_type

    def test_cmd7_rejects_broken_rst_with_explicit_type(self, capsys: pytest.CaptureFixture[str]) -> None:
        """CMD-7 Test: broken rST with explicit `text/x-rst` → 400; nothing is printed to stderr."""
        raw = metadata("Description-Content-Type: text/x-rst", body="Title\n=====\n\nBroken `link <\n")
        rejected(raw, "does not render .*start-string without end-string")
        assert capsys.readouterr().err == ""

    def test_cmd7_accepts_broken_rst_without_type(self) -> None:
        """CMD-7: absent Description-Content-Type means rST with a plain-text fallback."""
        assert parse(metadata(body="Broken `link <\n")).description == "Broken `link <\n"

    def test_cmd7_accepts_valid_rst(self) -> None:
        """CMD-7: a description that renders is accepted."""
        raw = metadata("Description-Content-Type: text/x-rst", body="Title\n=====\n\nSome *text*.\n")
        assert parse(raw).description_content_type == "text/x-rst"


class TestLicenseCMD8:
    """CMD-8: License-Expression, License and License-File."""

    def test_cmd8_normalises_license_expression(self) -> None:
        """CMD-8 Test: `mit or apache-2.0` stored as `MIT OR Apache-2.0`."""
        assert parse(metadata("License-Expression: mit or apache-2.0")).license_expression == "MIT OR Apache-2.0"

    def test_cmd8_rejects_unknown_license(self) -> None:
        """CMD-8 Test: `Use-it-after-midnight` → 400."""
        rejected(metadata("License-Expression: Use-it-after-midnight"), "not a valid SPDX license expression")

    def test_cmd8_accepts_license_ref(self) -> None:
        """CMD-8: `LicenseRef-…` identifiers are allowed."""
        result = parse(metadata("License-Expression: LicenseRef-Proprietary"))
        assert result.license_expression == "LicenseRef-Proprietary"

    def test_cmd8_rejects_license_with_license_expression(self) -> None:
        """CMD-8: License together with License-Expression is refused."""
        rejected(
            metadata("License: MIT License", "License-Expression: MIT"),
            "cannot be combined with License-Expression",
        )

    def test_cmd8_unknown_license_placeholder_is_absent(self) -> None:
        """CMD-8, UPL-6: `License: UNKNOWN` is not a License field, so it may sit beside License-Expression."""
        result = parse(metadata("License: UNKNOWN", "License-Expression: MIT"))
        assert (result.license, result.license_expression) == (None, "MIT")

    @pytest.mark.parametrize(
        ("path", "match"),
        [
            ("/etc/LICENSE", "must be relative"),
            ("C:/LICENSE", "must be relative"),
            ("../LICENSE", "must not contain '..'"),
            ("docs/../../LICENSE", "must not contain '..'"),
            ("LICENSES\\MIT.txt", "must use '/'"),
            ("LICEN*", "glob patterns"),
        ],
    )
    def test_cmd8_rejects_bad_license_file_paths(self, path: str, match: str) -> None:
        """CMD-8: License-File paths are relative, use `/`, contain no `..`."""
        rejected(metadata(f"License-File: {path}"), match)


class TestExtrasCMD9:
    """CMD-9: Provides-Extra names."""

    def test_cmd9_rejects_unnormalised_extra_in_2_3(self) -> None:
        """CMD-9 Test: `Provides-Extra: Foo_Bar` in 2.3 → rejected (this index rejects, it does not normalise)."""
        rejected(
            metadata("Provides-Extra: Foo_Bar", metadata_version="2.3"),
            "requires normalized extra names.*'foo-bar'",
        )

    def test_cmd9_normalises_extras_before_2_3(self) -> None:
        """CMD-9: extras are compared and stored after normalisation."""
        result = parse(metadata("Provides-Extra: Foo_Bar", "Provides-Extra: foo.bar", metadata_version="2.1"))
        assert result.provides_extra == ["foo-bar"]

    def test_cmd9_rejects_invalid_extra(self) -> None:
        """CMD-9: an extra must be a valid name in every version."""
        rejected(metadata("Provides-Extra: -dev", metadata_version="2.1"), "not a valid extra name")


class TestUrlsAndEmailsCMD10:
    """CMD-10 and POL-5: Project-URL, Home-page, Download-URL, Author/Maintainer-email."""

    def test_cmd10_rejects_33_character_label(self) -> None:
        """CMD-10 Test: 33-character label → 400."""
        rejected(metadata(f"Project-URL: {'L' * 33}, https://example.org"), "label is 33 characters; at most 32")

    def test_cmd10_accepts_32_character_label(self) -> None:
        """CMD-10: 32 characters is the limit."""
        assert list(parse(metadata(f"Project-URL: {'L' * 32}, https://example.org")).project_urls) == ["L" * 32]

    def test_cmd10_rejects_duplicate_label(self) -> None:
        """CMD-10: labels are unique."""
        raw = metadata("Project-URL: Docs, https://a.example", "Project-URL: Docs, https://b.example")
        rejected(raw, "the label 'Docs' is used twice")

    @pytest.mark.parametrize("value", ["https://example.org", "Docs,", ", https://example.org"])
    def test_cmd10_rejects_malformed_project_url(self, value: str) -> None:
        """CMD-10: Project-URL is `Label, URL`."""
        rejected(metadata(f"Project-URL: {value}"), "must be 'Label, URL'")

    @pytest.mark.parametrize(
        "header",
        [
            "Project-URL: Docs, ftp://example.org",
            "Home-page: example.org",
            "Download-URL: https://",
            "Home-page: https://exa mple.org",
            "Home-page: http://[::1",
        ],
    )
    def test_cmd10_rejects_invalid_urls(self, header: str) -> None:
        """CMD-10: URLs are absolute http(s) URLs."""
        rejected(metadata(header), "not a valid http\\(s\\) URL")

    @pytest.mark.parametrize(
        "header", [
            "Author-email: not an address",
            "Maintainer-email: a@b.org, broken",
            "Author-email: Doe, Jane <j@x.org>",
        ],
    )
    def test_cmd10_rejects_invalid_address_lists(self, header: str) -> None:
        """CMD-10: Author-email and Maintainer-email are RFC 822 address lists."""
        rejected(metadata(header), "not a valid RFC 822 address list")


class TestImportNamesCMD11:
    """CMD-11: Import-Name and Import-Namespace."""

    def test_cmd11_rejects_same_name_in_both(self) -> None:
        """CMD-11 Test: same name in both → 400."""
        raw = metadata("Import-Name: foo.bar", "Import-Namespace: foo.bar; private", metadata_version="2.5")
        rejected(raw, "'foo.bar': also listed as an Import-Namespace")

    @pytest.mark.parametrize(
        ("value", "match"),
        [
            ("1abc", "'1abc' is not a valid Python identifier"),
            ("foo.class", "'class' is not"),
            ("foo; public", "unknown option"),
        ],
    )
    def test_cmd11_rejects_invalid_entries(self, value: str, match: str) -> None:
        """CMD-11: dotted identifiers with optional `; private`."""
        rejected(metadata(f"Import-Name: {value}", metadata_version="2.5"), match)

    def test_cmd11_import_name_may_be_empty(self) -> None:
        """CMD-11: a single empty Import-Name means the project has no import names."""
        assert parse(metadata("Import-Name:", metadata_version="2.5")).import_names == []


class TestClassifiersPOL4:
    """POL-4: trove classifiers."""

    def test_pol4_rejects_private_classifier(self) -> None:
        """POL-4 Test: `Private :: Do Not Upload` → 400."""
        rejected(metadata("Classifier: Private :: Do Not Upload"), "'Private :: …' classifiers are refused")

    def test_pol4_rejects_unknown_classifier(self) -> None:
        """POL-4: unknown classifiers are refused, pointing at the list."""
        rejected(
            metadata("Classifier: Foo :: Bar"),
            r"'Foo :: Bar': not a known trove classifier; see https://pypi.org/classifiers/",
        )

    def test_pol4_rejects_deprecated_classifier_naming_replacement(self) -> None:
        """POL-4: deprecated classifiers are refused, naming the replacements."""
        rejected(
            metadata("Classifier: Natural Language :: Ukranian"),
            "deprecated; use 'Natural Language :: Ukrainian'",
        )

    def test_pol4_rejects_deprecated_classifier_without_replacement(self) -> None:
        """POL-4: a deprecated classifier with no replacement is to be removed."""
        rejected(metadata("Classifier: License :: OSI Approved :: Jabber Open Source License"), "deprecated; remove it")


class TestSummaryPOL5:
    """POL-5: one-line Summary of at most 512 characters."""

    def test_pol5_rejects_513_character_summary(self) -> None:
        """POL-5 Test: 513-character summary → 400."""
        rejected(metadata(f"Summary: {'s' * 513}"), "513 characters, more than 512")

    def test_pol5_accepts_512_character_summary(self) -> None:
        """POL-5: 512 characters is the limit."""
        assert parse(metadata(f"Summary: {'s' * 512}")).summary == "s" * 512

    def test_pol5_rejects_multi_line_summary(self) -> None:
        """POL-5: a folded Summary is not one line."""
        rejected(metadata("Summary: first", "  second"), "Summary .*must be a single line")


class TestPlaceholdersAndKeywordsUPL6:
    """UPL-6 placeholders and the Keywords field."""

    def test_upl6_unknown_license_stored_as_null(self) -> None:
        """UPL-6 Test: `license=UNKNOWN` stored as null."""
        assert parse(metadata("License: UNKNOWN")).license is None

    @pytest.mark.parametrize(
        "header", ["Summary: UNKNOWN", "Summary:", "Author: UNKNOWN", "Description: UNKNOWN", "Keywords: UNKNOWN"]
    )
    def test_upl6_placeholders_and_empty_values_are_absent(self, header: str) -> None:
        """UPL-6: empty strings and `UNKNOWN` are absent."""
        result = parse(metadata(header))
        assert (result.summary, result.author, result.description, result.keywords) == (None, None, None, [])

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("a, b,, c ", ["a", "b", "c"]),
            ("a b\tc", ["a", "b", "c"]),
            ("web framework, async", ["web framework", "async"]),
        ],
    )
    def test_keywords_split_on_commas_or_whitespace(self, value: str, expected: list[str]) -> None:
        """Keywords: commas, or whitespace when there is no comma; stripped, empties dropped."""
        assert parse(metadata(f"Keywords: {value}")).keywords == expected
