"""The legacy upload form twine sends (STANDARDS §11: UPL-2, UPL-6, UPL-7; PRV-2).

``parse_upload_form`` checks the non-file parts of the ``multipart/form-data``
request; ``check_form_against_metadata`` compares the form with the metadata
inside the artifact, which is authoritative (UPL-7). Pure functions: the route
collects the parts (and a ``:action`` from the query string) and hands them over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, cast

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from services.upload.errors import InvalidFormError, MetadataMismatchError, RetiredActionError
from services.upload.validation.types import CoreMetadata, PackageType
from shared.names import normalize_name, parse_version

# UPL-6, §11 table: "single-value metadata" and "multi-value metadata (field repeated)".
SINGLE_VALUE_FIELDS: Final = frozenset(
    {
        "summary",
        "description",
        "description_content_type",
        "keywords",
        "home_page",
        "download_url",
        "author",
        "author_email",
        "maintainer",
        "maintainer_email",
        "license",
        "license_expression",
        "requires_python",
    }
)
MULTI_VALUE_FIELDS: Final = frozenset(
    {
        "classifiers",
        "platform",
        "supported_platform",
        "requires_dist",
        "provides_dist",
        "obsoletes_dist",
        "requires_external",
        "project_urls",
        "provides_extra",
        "dynamic",
        "license_file",
        "requires",
        "provides",
        "obsoletes",
        "import_name",
        "import_namespace",
    }
)
# §11 table: the protocol fields, each single-valued too (UPL-6).
PROTOCOL_FIELDS: Final = frozenset(
    {
        ":action",
        "protocol_version",
        "filetype",
        "pyversion",
        "metadata_version",
        "name",
        "version",
        "sha256_digest",
        "blake2_256_digest",
        "md5_digest",
        "comment",
    }
)
# PRV-2: attestations are not verified by this index, so they are ignored (never exposed);
# gpg_signature is legacy and ignored too (HTML-10: no signatures are advertised).
IGNORED_FIELDS: Final = frozenset({"gpg_signature", "attestations"})

UPLOAD_ACTION: Final = "file_upload"
RETIRED_ACTIONS: Final = frozenset({"submit", "doc_upload"})
FILETYPES: Final = frozenset({"bdist_wheel", "sdist"})
DIGEST_LENGTHS: Final = {"sha256_digest": 64, "blake2_256_digest": 64, "md5_digest": 32}
_REQUIRED: Final = ("metadata_version", "name", "version", "filetype")
_PLACEHOLDER: Final = "UNKNOWN"
_HEX_RE: Final = re.compile(r"[0-9a-f]+\Z")


@dataclass(frozen=True, kw_only=True)
class UploadForm:
    """The checked legacy upload form (UPL-2, UPL-6). Digests are lower-case hex or None."""

    action: str
    protocol_version: str
    filetype: PackageType
    pyversion: str | None
    metadata_version: str
    name: str
    version: str
    sha256_digest: str | None = None
    blake2_256_digest: str | None = None
    md5_digest: str | None = None
    comment: str | None = None
    # Remaining metadata parts: single-value fields as str, multi-value fields as list[str].
    metadata: dict[str, str | list[str]] = field(default_factory=dict)


def parse_upload_form(fields: Mapping[str, list[str]]) -> UploadForm:
    """Check the non-file form parts (UPL-2, UPL-6); ``fields`` maps each name to its values in order."""
    values = _present(fields)
    action = _action(values)
    _reject_repeated(values)
    protocol_version = _protocol_version(values)
    single = {name: items[0].strip() for name, items in values.items() if name in PROTOCOL_FIELDS}
    _require(single)
    filetype = _filetype(single["filetype"])
    digests = _digests(single)
    return UploadForm(
        action=action,
        protocol_version=protocol_version,
        filetype=filetype,
        pyversion=single.get("pyversion", "source" if filetype == "sdist" else None),
        metadata_version=single["metadata_version"],
        name=single["name"],
        version=single["version"],
        comment=single.get("comment"),
        metadata=_metadata(values),
        sha256_digest=digests.get("sha256_digest"),
        blake2_256_digest=digests.get("blake2_256_digest"),
        md5_digest=digests.get("md5_digest"),
    )


def check_form_against_metadata(form: UploadForm, metadata: CoreMetadata) -> list[str]:
    """UPL-7: the form must agree with the artifact's metadata on name, version and Metadata-Version.

    Returns warnings for other differences; the artifact's values are used regardless.
    """
    _check_name(form.name, metadata.name)
    _check_version(form.version, metadata.version)
    if form.metadata_version != metadata.metadata_version:
        raise _mismatch("metadata_version", form.metadata_version, "Metadata-Version", metadata.metadata_version)
    return _warnings(form, metadata)


# --- parse_upload_form steps ---------------------------------------------------------------


def _present(fields: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """UPL-6: empty strings and ``UNKNOWN`` are absent; ignored fields dropped (PRV-2)."""
    values = {}
    for name, items in fields.items():
        kept = [item for item in items if item.strip() not in ("", _PLACEHOLDER)]
        if kept and name not in IGNORED_FIELDS:
            values[name] = kept
    return values


def _action(values: dict[str, list[str]]) -> str:
    """UPL-2: only ``file_upload``; ``submit`` and ``doc_upload`` are gone (410)."""
    actions = [action.strip() for action in values.get(":action", [])]
    if not actions:
        raise InvalidFormError(
            "Missing ':action' field: set ':action' to 'file_upload' (the legacy upload API that twine uses)."
        )
    if len(set(actions)) > 1:
        raise InvalidFormError(f"The ':action' field was given {len(actions)} times; send ':action=file_upload' once.")
    action = actions[0]
    if action in RETIRED_ACTIONS:
        raise RetiredActionError(
            f"':action={action}' is no longer supported; upload distribution files with "
            "':action=file_upload' (projects and releases are created by the first upload)."
        )
    if action != UPLOAD_ACTION:
        raise InvalidFormError(f"Unsupported ':action' {action!r}; the only supported action is 'file_upload'.")
    return action


def _protocol_version(values: dict[str, list[str]]) -> str:
    """UPL-2: ``protocol_version`` is ``1`` or absent."""
    versions = [version.strip() for version in values.get("protocol_version", ["1"])]
    if versions != ["1"]:
        raise InvalidFormError(
            f"Unsupported protocol_version {versions[0]!r}; this endpoint speaks the legacy upload "
            "protocol_version 1 only (send protocol_version=1 or leave it out)."
        )
    return "1"


def _reject_repeated(values: dict[str, list[str]]) -> None:
    """UPL-6: a single-value field sent more than once is refused, naming the field.

    ``:action`` is checked by ``_action``: the same value in the query string and the body is fine.
    """
    for name, items in values.items():
        if len(items) > 1 and name != ":action" and (name in SINGLE_VALUE_FIELDS or name in PROTOCOL_FIELDS):
            raise InvalidFormError(
                f"Form field {name!r} was sent {len(items)} times but takes a single value; send it once."
            )


def _require(single: dict[str, str]) -> None:
    """UPL-2, §11: metadata_version, name, version and filetype are required."""
    for name in _REQUIRED:
        if name not in single:
            raise InvalidFormError(
                f"Missing form field {name!r}: it is required and must not be empty or 'UNKNOWN'; "
                "upload with twine, which sends it from the distribution's metadata."
            )


def _filetype(value: str) -> PackageType:
    """UPL-4: only wheels and sdists are accepted."""
    if value not in FILETYPES:
        raise InvalidFormError(
            f"Unsupported filetype {value!r}: only 'bdist_wheel' and 'sdist' uploads are accepted "
            "(PEP 527); build a wheel or an sdist instead."
        )
    return cast(PackageType, value)


def _digests(single: dict[str, str]) -> dict[str, str]:
    """UPL-5, §11: at least one digest; each is lower-case hex of the right length."""
    digests = {}
    for name, length in DIGEST_LENGTHS.items():
        if name in single:
            digests[name] = _digest(name, single[name], length=length)
    if not digests:
        raise InvalidFormError(
            "Missing file digest: send at least one of sha256_digest, blake2_256_digest or md5_digest "
            "(twine sends sha256_digest)."
        )
    return digests


def _digest(name: str, value: str, *, length: int) -> str:
    """UPL-5: one hex digest, lower-cased."""
    digest = value.lower()
    if len(digest) != length or not _HEX_RE.match(digest):
        raise InvalidFormError(
            f"Invalid {name} {value[:80]!r}: expected {length} hexadecimal characters; "
            "send the hex digest of the uploaded file."
        )
    return digest


def _metadata(values: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """UPL-6: single-value metadata as str, multi-value metadata as lists; other parts ignored."""
    metadata: dict[str, str | list[str]] = {}
    for name, items in values.items():
        if name in SINGLE_VALUE_FIELDS:
            metadata[name] = items[0]
        elif name in MULTI_VALUE_FIELDS:
            metadata[name] = list(items)
    return metadata


# --- check_form_against_metadata steps -----------------------------------------------------


def _check_name(form_name: str, metadata_name: str) -> None:
    """UPL-7, NAM-1: names match after normalisation, so twine's ``-`` spelling is accepted."""
    if normalize_name(form_name) != normalize_name(metadata_name):
        raise _mismatch("name", form_name, "Name", metadata_name)


def _check_version(form_version: str, metadata_version: str) -> None:
    """UPL-7, VER-2: versions match as PEP 440 versions (``1.0`` equals ``1.0.0``)."""
    parsed = parse_version(form_version)
    if parsed is None or parsed != parse_version(metadata_version):
        raise _mismatch("version", form_version, "Version", metadata_version)


def _warnings(form: UploadForm, metadata: CoreMetadata) -> list[str]:
    """UPL-7, UPL-8: differences in informational fields are reported, not refused."""
    warnings = []
    summary = form.metadata.get("summary")
    if summary is not None and summary != (metadata.summary or ""):
        warnings.append(_ignored("summary", "Summary"))
    requires_python = form.metadata.get("requires_python")
    if isinstance(requires_python, str) and not _same_specifiers(requires_python, metadata.requires_python):
        warnings.append(_ignored("requires_python", "Requires-Python"))
    return warnings


def _same_specifiers(form_value: str, metadata_value: str | None) -> bool:
    """Compare two Requires-Python values as specifier sets."""
    try:
        return SpecifierSet(form_value) == SpecifierSet(metadata_value or "")
    except InvalidSpecifier:
        return False


def _ignored(form_field: str, metadata_field: str) -> str:
    return (
        f"Form field {form_field!r} differs from the {metadata_field} in the distribution's metadata; "
        "the distribution's value is used."
    )


def _mismatch(form_field: str, form_value: str, metadata_field: str, metadata_value: str) -> MetadataMismatchError:
    """UPL-7: name both values and say which one wins."""
    return MetadataMismatchError(
        f"Form field {form_field!r} is {form_value!r} but the distribution's metadata says "
        f"{metadata_field}: {metadata_value!r}; the metadata inside the file is authoritative, so upload "
        "with matching values (twine sends them from the file) or rebuild the distribution."
    )
