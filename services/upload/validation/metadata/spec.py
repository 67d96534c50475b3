"""The core metadata field table (STANDARDS §15; CMD-2, CMD-3, CMD-4; UPL-6).

Which fields exist, how they are spelled, which Metadata-Version added them and
whether they may repeat: the data the parsing layer and the field checks share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

Fields = dict[str, Any]  # packaging's RawMetadata, edited in place

# CMD-2: there is no 2.0; the order is the age order used by CMD-3.
ACCEPTED_METADATA_VERSIONS: Final = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6")
PLACEHOLDER: Final = "UNKNOWN"  # UPL-6
SPEC_URL: Final = "https://packaging.python.org/specifications/core-metadata/"


@dataclass(frozen=True)
class Field:
    header: str  # canonical spelling, used in messages
    added: str  # first Metadata-Version with the field (CMD-3)
    multiple: bool = False  # multi-use (CMD-4)


# STANDARDS §15 table, keyed by packaging's RawMetadata names.
FIELDS: Final[dict[str, Field]] = {
    "metadata_version": Field("Metadata-Version", "1.0"),
    "name": Field("Name", "1.0"),
    "version": Field("Version", "1.0"),
    "platforms": Field("Platform", "1.0", True),
    "summary": Field("Summary", "1.0"),
    "description": Field("Description", "1.0"),
    "keywords": Field("Keywords", "1.0"),
    "home_page": Field("Home-page", "1.0"),
    "author": Field("Author", "1.0"),
    "author_email": Field("Author-email", "1.0"),
    "license": Field("License", "1.0"),
    "supported_platforms": Field("Supported-Platform", "1.1", True),
    "download_url": Field("Download-URL", "1.1"),
    "classifiers": Field("Classifier", "1.1", True),
    "requires": Field("Requires", "1.1", True),
    "provides": Field("Provides", "1.1", True),
    "obsoletes": Field("Obsoletes", "1.1", True),
    "maintainer": Field("Maintainer", "1.2"),
    "maintainer_email": Field("Maintainer-email", "1.2"),
    "requires_dist": Field("Requires-Dist", "1.2", True),
    "provides_dist": Field("Provides-Dist", "1.2", True),
    "obsoletes_dist": Field("Obsoletes-Dist", "1.2", True),
    "requires_python": Field("Requires-Python", "1.2"),
    "requires_external": Field("Requires-External", "1.2", True),
    "project_urls": Field("Project-URL", "1.2", True),
    "description_content_type": Field("Description-Content-Type", "2.1"),
    "provides_extra": Field("Provides-Extra", "2.1", True),
    "dynamic": Field("Dynamic", "2.2", True),
    "license_expression": Field("License-Expression", "2.4"),
    "license_files": Field("License-File", "2.4", True),
    "import_names": Field("Import-Name", "2.5", True),
    "import_namespaces": Field("Import-Namespace", "2.5", True),
}
BY_HEADER: Final = {f.header.lower(): key for key, f in FIELDS.items()}
STRING_KEYS: Final = frozenset(k for k, f in FIELDS.items() if not f.multiple) - {"keywords"}
REQUIRED_KEYS: Final = ("metadata_version", "name", "version")
