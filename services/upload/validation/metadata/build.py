"""Assembling the validated result (STANDARDS §15 CMD-5..11; POL-4, POL-5).

One check per field, in a fixed order (the first problem found is the one
reported), then ``packaging.metadata.Metadata.from_raw(validate=True)`` as a
backstop for anything the field checks missed.
"""

from __future__ import annotations

from typing import cast

from packaging.metadata import Metadata, RawMetadata

from services.upload.errors import InvalidMetadataError
from services.upload.validation.metadata.classifiers import check_classifiers
from services.upload.validation.metadata.dependencies import check_requirements, check_requires_python
from services.upload.validation.metadata.description import check_content_type, check_renders
from services.upload.validation.metadata.emails import check_addresses
from services.upload.validation.metadata.extras import check_extras
from services.upload.validation.metadata.identity import check_dynamic, check_name, check_version
from services.upload.validation.metadata.import_names import check_import_names
from services.upload.validation.metadata.licenses import (
    check_license,
    check_license_expression,
    check_license_files,
)
from services.upload.validation.metadata.parsing import unfold
from services.upload.validation.metadata.spec import SPEC_URL, Fields
from services.upload.validation.metadata.summary import check_summary, split_keywords
from services.upload.validation.metadata.urls import check_url
from services.upload.validation.types import CoreMetadata, ValidationPolicy


def build(fields: Fields, *, metadata_version: str, policy: ValidationPolicy) -> CoreMetadata:
    """Run the per-field checks and assemble the validated metadata."""
    name = check_name(fields.get("name", ""))
    version = check_version(fields.get("version", ""), policy=policy)
    import_names, import_namespaces = check_import_names(fields)
    description = fields.get("description")
    content_type = check_content_type(fields.get("description_content_type"))
    check_renders(description, content_type=content_type)
    check_license(fields)
    return CoreMetadata(
        metadata_version=metadata_version,
        name=name,
        version=version,
        summary=check_summary(fields.get("summary")),
        description=description,
        description_content_type=content_type,
        keywords=split_keywords(fields.get("keywords", [])),
        home_page=check_url("Home-page", fields.get("home_page")),
        download_url=check_url("Download-URL", fields.get("download_url")),
        author=fields.get("author"),
        author_email=check_addresses("Author-email", fields.get("author_email")),
        maintainer=fields.get("maintainer"),
        maintainer_email=check_addresses("Maintainer-email", fields.get("maintainer_email")),
        license=unfold(fields["license"]) if "license" in fields else None,
        license_expression=check_license_expression(fields.get("license_expression")),
        license_files=check_license_files(fields.get("license_files", [])),
        classifiers=check_classifiers(fields.get("classifiers", [])),
        platforms=fields.get("platforms", []),
        supported_platforms=fields.get("supported_platforms", []),
        requires_dist=check_requirements("Requires-Dist", fields.get("requires_dist", []), policy=policy),
        provides_dist=check_requirements("Provides-Dist", fields.get("provides_dist", []), policy=policy),
        obsoletes_dist=check_requirements("Obsoletes-Dist", fields.get("obsoletes_dist", []), policy=policy),
        requires_external=[v.strip() for v in fields.get("requires_external", [])],
        requires_python=check_requires_python(fields.get("requires_python")),
        project_urls=fields.get("project_urls", {}),
        provides_extra=check_extras(fields.get("provides_extra", []), metadata_version=metadata_version),
        dynamic=check_dynamic(fields.get("dynamic", [])),
        import_names=import_names,
        import_namespaces=import_namespaces,
    )


def validate_with_packaging(fields: Fields) -> None:
    """CMD-1: ``packaging.metadata`` validation as a backstop behind the field checks."""
    try:
        Metadata.from_raw(cast(RawMetadata, fields), validate=True)
    except ExceptionGroup as group:
        problems = "; ".join(sorted(str(exc) for exc in group.exceptions))
        raise InvalidMetadataError(f"Invalid core metadata: {problems}; see {SPEC_URL}.") from group
