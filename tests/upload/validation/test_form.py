"""The legacy upload form (STANDARDS §11: UPL-2, UPL-6, UPL-7; PRV-2; NAM-1, VER-2)."""

from __future__ import annotations

import pytest

from services.upload.errors import InvalidFormError, MetadataMismatchError, RetiredActionError
from services.upload.validation.form import (
    MULTI_VALUE_FIELDS,
    SINGLE_VALUE_FIELDS,
    UploadForm,
    check_form_against_metadata,
    parse_upload_form,
)
from services.upload.validation.types import CoreMetadata

SHA256 = "a" * 64
BLAKE2 = "b" * 64


def twine_form(**overrides: list[str] | None) -> dict[str, list[str]]:
    """The non-file parts twine 6 sends for a wheel; ``None`` removes a part."""
    fields: dict[str, list[str]] = {
        "name": ["foo.bar-baz"],  # twine's safe name of Foo.Bar_baz
        "version": ["1.0"],
        "filetype": ["bdist_wheel"],
        "pyversion": ["py3"],
        "metadata_version": ["2.4"],
        "summary": ["A project"],
        "description": ["Long text\n"],
        "keywords": ["a, b"],
        "license_expression": ["MIT"],
        "license_file": ["LICENSE"],
        "classifiers": ["Programming Language :: Python :: 3", "Operating System :: OS Independent"],
        "requires_dist": ["requests>=2"],
        "requires_python": [">=3.9"],
        "project_urls": ["Source, https://example.org/src"],
        "sha256_digest": [SHA256],
        "blake2_256_digest": [BLAKE2],
        ":action": ["file_upload"],
        "protocol_version": ["1"],
    }
    for name, value in overrides.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return fields


def core_metadata(**overrides: object) -> CoreMetadata:
    values: dict[str, object] = {
        "metadata_version": "2.4",
        "name": "Foo.Bar_baz",
        "version": "1.0",
        "summary": "A project",
        "requires_python": ">=3.9",
    }
    values.update(overrides)
    return CoreMetadata(**values)  # type: ignore[arg-type]


class TestFieldTables:
    """§11 table: single- and multi-value metadata fields."""

    def test_upl6_single_value_fields_match_table(self) -> None:
        """UPL-6: the single-value metadata row of STANDARDS §11."""
        assert SINGLE_VALUE_FIELDS == {
            "summary", "description", "description_content_type", "keywords", "home_page", "download_url",
            "author", "author_email", "maintainer", "maintainer_email", "license", "license_expression",
            "requires_python",
        }  # fmt: skip

    def test_upl6_multi_value_fields_match_table(self) -> None:
        """UPL-6: the multi-value metadata row of STANDARDS §11."""
        assert MULTI_VALUE_FIELDS == {
            "classifiers", "platform", "supported_platform", "requires_dist", "provides_dist", "obsoletes_dist",
            "requires_external", "project_urls", "provides_extra", "dynamic", "license_file", "requires",
            "provides", "obsoletes", "import_name", "import_namespace",
        }  # fmt: skip


class TestParseUploadForm:
    """parse_upload_form: UPL-2 dispatch, required fields, digests, UPL-6 repetition and placeholders."""

    def test_upl2_parses_twine_form(self) -> None:
        """UPL-2: a form as twine sends it."""
        form = parse_upload_form(twine_form())
        assert form == UploadForm(
            action="file_upload",
            protocol_version="1",
            filetype="bdist_wheel",
            pyversion="py3",
            metadata_version="2.4",
            name="foo.bar-baz",
            version="1.0",
            sha256_digest=SHA256,
            blake2_256_digest=BLAKE2,
            metadata={
                "summary": "A project",
                "description": "Long text\n",
                "keywords": "a, b",
                "license_expression": "MIT",
                "license_file": ["LICENSE"],
                "classifiers": ["Programming Language :: Python :: 3", "Operating System :: OS Independent"],
                "requires_dist": ["requests>=2"],
                "requires_python": ">=3.9",
                "project_urls": ["Source, https://example.org/src"],
            },
        )

    def test_upl2_rejects_protocol_version_2(self) -> None:
        """UPL-2 Test: `protocol_version=2` → 400."""
        with pytest.raises(InvalidFormError, match="Unsupported protocol_version '2'") as info:
            parse_upload_form(twine_form(protocol_version=["2"]))
        assert info.value.status_code == 400

    def test_upl2_protocol_version_absent_means_1(self) -> None:
        """UPL-2: an absent protocol_version means 1."""
        assert parse_upload_form(twine_form(protocol_version=None)).protocol_version == "1"

    @pytest.mark.parametrize("action", ["submit", "doc_upload"])
    def test_upl2_retired_actions_are_gone(self, action: str) -> None:
        """UPL-2: retired actions (`submit`, `doc_upload`) → 410."""
        with pytest.raises(RetiredActionError, match=f"':action={action}' is no longer supported") as info:
            parse_upload_form(twine_form(**{":action": [action]}))
        assert info.value.status_code == 410

    def test_upl2_rejects_unknown_action(self) -> None:
        """UPL-2: any other action → 400."""
        with pytest.raises(InvalidFormError, match="Unsupported ':action' 'remove_pkg'"):
            parse_upload_form(twine_form(**{":action": ["remove_pkg"]}))

    def test_upl2_requires_action(self) -> None:
        """UPL-2: the form must say `:action=file_upload`."""
        with pytest.raises(InvalidFormError, match="Missing ':action' field"):
            parse_upload_form(twine_form(**{":action": None}))

    def test_upl2_accepts_same_action_from_query_and_body(self) -> None:
        """UPL-2: `:action` may come from the query string and the body; the same value twice is fine."""
        assert parse_upload_form(twine_form(**{":action": ["file_upload", "file_upload"]})).action == "file_upload"

    @pytest.mark.parametrize("name", ["metadata_version", "name", "version", "filetype"])
    @pytest.mark.parametrize("value", [None, [""], ["UNKNOWN"]])
    def test_upl2_requires_fields(self, name: str, value: list[str] | None) -> None:
        """§11, UPL-6: metadata_version, name, version, filetype are required; empty and UNKNOWN are absent."""
        with pytest.raises(InvalidFormError, match=f"Missing form field '{name}'"):
            parse_upload_form(twine_form(**{name: value}))

    def test_upl4_rejects_unsupported_filetype(self) -> None:
        """UPL-4: only bdist_wheel and sdist."""
        with pytest.raises(InvalidFormError, match="Unsupported filetype 'bdist_egg'"):
            parse_upload_form(twine_form(filetype=["bdist_egg"]))

    def test_upl4_sdist_pyversion_defaults_to_source(self) -> None:
        """§11: an sdist's absent pyversion means `source`."""
        form = parse_upload_form(twine_form(filetype=["sdist"], pyversion=None))
        assert (form.filetype, form.pyversion) == ("sdist", "source")

    def test_upl5_requires_a_digest(self) -> None:
        """UPL-5: at least one client digest."""
        with pytest.raises(InvalidFormError, match="Missing file digest"):
            parse_upload_form(twine_form(sha256_digest=None, blake2_256_digest=None))

    def test_upl5_lowercases_digests(self) -> None:
        """UPL-5: digests are stored as lower-case hex; md5 alone is enough."""
        form = parse_upload_form(twine_form(sha256_digest=["ABCDEF" * 10 + "ABCD"], md5_digest=["F" * 32]))
        assert (form.sha256_digest, form.md5_digest) == ("abcdef" * 10 + "abcd", "f" * 32)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("sha256_digest", "a" * 63),
            ("blake2_256_digest", "g" * 64),
            ("md5_digest", "a" * 64),
            ("sha256_digest", "+" * 64),
        ],
    )
    def test_upl5_rejects_malformed_digests(self, name: str, value: str) -> None:
        """UPL-5: each digest is hex of the right length."""
        with pytest.raises(InvalidFormError, match=f"Invalid {name} .*hexadecimal characters"):
            parse_upload_form(twine_form(**{name: [value]}))

    def test_upl6_rejects_two_summary_parts(self) -> None:
        """UPL-6 Test: two `summary` parts → 400."""
        with pytest.raises(InvalidFormError, match="Form field 'summary' was sent 2 times") as info:
            parse_upload_form(twine_form(summary=["one", "two"]))
        assert info.value.status_code == 400

    @pytest.mark.parametrize("name", ["name", "version", "protocol_version", "sha256_digest", "keywords", "license"])
    def test_upl6_rejects_repeated_single_value_fields(self, name: str) -> None:
        """UPL-6: every single-value field, protocol or metadata, is refused when repeated."""
        with pytest.raises(InvalidFormError, match=f"Form field '{name}' was sent 2 times"):
            parse_upload_form(twine_form(**{name: ["1", "1"]}))

    def test_upl6_license_unknown_is_absent(self) -> None:
        """UPL-6 Test: `license=UNKNOWN` is treated as absent (stored as null)."""
        form = parse_upload_form(twine_form(license=["UNKNOWN"], home_page=[""], platform=["UNKNOWN", "linux"]))
        assert "license" not in form.metadata and "home_page" not in form.metadata
        assert form.metadata["platform"] == ["linux"]

    def test_upl6_multi_value_fields_are_lists(self) -> None:
        """UPL-6: repeated multi-value fields become lists in order."""
        form = parse_upload_form(twine_form(requires_dist=["b", "a"], dynamic=["Requires-Dist"]))
        assert (form.metadata["requires_dist"], form.metadata["dynamic"]) == (["b", "a"], ["Requires-Dist"])

    def test_prv2_attestations_and_gpg_signature_are_ignored(self) -> None:
        """PRV-2: attestations are not verified by this index, so they are ignored (never exposed)."""
        form = parse_upload_form(twine_form(attestations=['[{"version": 1}]', "[]"], gpg_signature=["sig"]))
        assert "attestations" not in form.metadata and "gpg_signature" not in form.metadata

    def test_unknown_form_parts_are_ignored(self) -> None:
        """Other clients' extra parts (and a stray `content` text part) do not break the upload."""
        form = parse_upload_form(twine_form(content=["x"], uploader_tool=["uv 0.9"]))
        assert "content" not in form.metadata and "uploader_tool" not in form.metadata


class TestCheckFormAgainstMetadata:
    """UPL-7: the artifact's metadata is authoritative."""

    def test_upl7_rejects_version_mismatch(self) -> None:
        """UPL-7 Test: form `version=1.1` with a 1.0 wheel → 400, naming both values."""
        form = parse_upload_form(twine_form(version=["1.1"]))
        with pytest.raises(MetadataMismatchError, match="'version' is '1.1'.*Version: '1.0'.*authoritative") as info:
            check_form_against_metadata(form, core_metadata())
        assert info.value.status_code == 400

    def test_upl7_twine_safe_name_matches(self) -> None:
        """UPL-7 Test: twine's `name` (non-alphanumerics except `.` turned into `-`) still matches."""
        form = parse_upload_form(twine_form(name=["foo.bar-baz"]))
        assert check_form_against_metadata(form, core_metadata(name="Foo.Bar__baz")) == []

    def test_upl7_rejects_name_mismatch(self) -> None:
        """UPL-7: a different project name is refused."""
        form = parse_upload_form(twine_form(name=["other"]))
        with pytest.raises(MetadataMismatchError, match="'name' is 'other'.*Name: 'Foo.Bar_baz'"):
            check_form_against_metadata(form, core_metadata())

    def test_upl7_rejects_metadata_version_mismatch(self) -> None:
        """UPL-7: form metadata_version must equal the artifact's Metadata-Version."""
        form = parse_upload_form(twine_form(metadata_version=["2.1"]))
        with pytest.raises(MetadataMismatchError, match="'metadata_version' is '2.1'.*Metadata-Version: '2.4'"):
            check_form_against_metadata(form, core_metadata())

    @pytest.mark.parametrize("version", ["1.0.0", "v1.0", "1.0"])
    def test_ver2_equal_versions_match(self, version: str) -> None:
        """VER-2, UPL-7: PEP 440-equal spellings are the same version."""
        form = parse_upload_form(twine_form(version=[version]))
        assert check_form_against_metadata(form, core_metadata()) == []

    def test_upl7_rejects_unparseable_form_version(self) -> None:
        """UPL-7, VER-1: a form version that is not PEP 440 cannot match."""
        form = parse_upload_form(twine_form(version=["latest"]))
        with pytest.raises(MetadataMismatchError, match="'version' is 'latest'"):
            check_form_against_metadata(form, core_metadata())

    def test_upl7_differing_summary_is_a_warning(self) -> None:
        """UPL-7, UPL-8: a form summary that differs is only a warning; the artifact wins."""
        form = parse_upload_form(twine_form(summary=["Another summary"], requires_python=[">=3.8"]))
        warnings = check_form_against_metadata(form, core_metadata())
        assert len(warnings) == 2
        assert "'summary' differs from the Summary" in warnings[0]
        assert "'requires_python' differs" in warnings[1]

    def test_upl7_equivalent_requires_python_is_not_a_warning(self) -> None:
        """UPL-7: Requires-Python is compared as a specifier set."""
        form = parse_upload_form(twine_form(requires_python=["<4, >=3.9"]))
        assert check_form_against_metadata(form, core_metadata(requires_python=">=3.9,<4")) == []
