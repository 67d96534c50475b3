"""Content-addressed blob keys, laid out like the public index (API-8).

``blob_key(b2, "foo-1.0.tar.gz")`` is ``b2[0:2]/b2[2:4]/b2[4:]/foo-1.0.tar.gz``,
the same path ``files.pythonhosted.org/packages/…`` uses; the PEP 658 core
metadata sits next to its distribution under ``<key>.metadata``.
"""

from __future__ import annotations

import re

from shared.storage.base import validate_key

_BLAKE2B_256_HEX = re.compile(r"[0-9a-f]{64}")


def blob_key(blake2b_256_hex: str, filename: str) -> str:
    """The storage key of the distribution ``filename`` with this blake2b-256 digest."""
    digest = blake2b_256_hex.lower()
    if not _BLAKE2B_256_HEX.fullmatch(digest):
        raise ValueError(f"not a blake2b-256 hex digest: {blake2b_256_hex!r}")
    if "/" in filename:
        raise ValueError(f"invalid filename {filename!r}")
    return validate_key(f"{digest[0:2]}/{digest[2:4]}/{digest[4:]}/{filename}")


def metadata_key(key: str) -> str:
    """The key of the core-metadata file (PEP 658) served next to ``key``."""
    return validate_key(key) + ".metadata"
