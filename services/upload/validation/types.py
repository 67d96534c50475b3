"""The data the distribution validators hand to the upload service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from packaging.tags import Tag
from packaging.version import Version

PackageType = Literal["bdist_wheel", "sdist"]

MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ValidationPolicy:
    """Index policy knobs that the validators read. Defaults are a public index's."""

    allow_local_versions: bool = False  # VER-4
    allow_linux_platform: bool = False  # WHL-6: plain linux_* tags on a private index
    allow_direct_references: bool = False  # CMD-6
    max_metadata_bytes: int = 1 * MiB  # METADATA / PKG-INFO larger than this is refused
    max_unpacked_bytes: int = 4096 * MiB  # hard cap on bytes decompressed from one archive
    bomb_ratio_threshold_bytes: int = 64 * MiB  # WHL-7: ratio rule applies past this many unpacked bytes
    max_compression_ratio: int = 50  # WHL-7
    max_members: int = 100_000
    max_filename_length: int = 240  # POL-5: <filename>.metadata must still fit


@dataclass(frozen=True, kw_only=True)
class ParsedFilename:
    filename: str
    packagetype: PackageType
    normalized_name: str  # canonicalize_name() of the name part (NAM-1)
    version: Version
    build_tag: tuple[int, str] | None = None  # wheels only (WHL-4)
    tags: frozenset[Tag] = frozenset()  # wheels only, expanded (WHL-5)
    python_tag: str = "source"  # wheels: the python-tag field as written, e.g. "py3" or "cp312"; sdists: "source"


@dataclass(frozen=True, kw_only=True)
class CoreMetadata:
    """Validated core metadata (CMD-1..11). Empty multi-use fields are empty lists."""

    metadata_version: str
    name: str  # as written: the display name (NAM-4)
    version: str  # str(Version(...)): the normalised spelling (VER-3)
    summary: str | None = None
    description: str | None = None
    description_content_type: str | None = None
    keywords: list[str] = field(default_factory=list)
    home_page: str | None = None
    download_url: str | None = None
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    license: str | None = None
    license_expression: str | None = None  # case-normalised SPDX (CMD-8)
    license_files: list[str] = field(default_factory=list)
    classifiers: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    supported_platforms: list[str] = field(default_factory=list)
    requires_dist: list[str] = field(default_factory=list)
    provides_dist: list[str] = field(default_factory=list)
    obsoletes_dist: list[str] = field(default_factory=list)
    requires_external: list[str] = field(default_factory=list)
    requires_python: str | None = None
    project_urls: dict[str, str] = field(default_factory=dict)
    provides_extra: list[str] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)
    import_names: list[str] = field(default_factory=list)
    import_namespaces: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field (stored with the release)."""
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class InspectedDistribution:
    """A distribution that passed every archive and metadata check."""

    filename: ParsedFilename
    metadata: CoreMetadata
    # The exact bytes of the wheel's .dist-info/METADATA, served as <file>.metadata (MDF-1).
    # None for sdists, whose PKG-INFO is never advertised (MDF-3).
    metadata_bytes: bytes | None
    warnings: list[str] = field(default_factory=list)
