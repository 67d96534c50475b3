"""Blob storage: one Protocol, three adapters, picked by URL.

``await open_storage(url, **s3_options)`` returns a :class:`BlobStorage`:

* ``file:///abs/path`` or a plain path (``/var/lib/wheelhouse/files``,
  ``data/files``) → :class:`LocalBlobStorage` rooted there; the embedded default.
* ``memory://`` → :class:`MemoryBlobStorage`, for tests.
* ``s3://bucket`` or ``s3://bucket/some/prefix`` → :class:`S3BlobStorage`, built
  with ``s3_options``: ``endpoint_url``, ``region``, ``access_key_id`` and
  ``secret_access_key`` (``str`` or ``SecretStr``), plus ``multipart_threshold``
  and ``part_size`` for tuning. The options are ignored for other schemes, so
  settings can always pass them.

Anything else raises :class:`ValueError`. Close the result with ``aclose()``.
Keys come from :func:`blob_key` and :func:`metadata_key`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shared.storage.base import (
    DEFAULT_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    BlobStorage,
    validate_key,
)
from shared.storage.keys import blob_key, metadata_key
from shared.storage.local import LocalBlobStorage
from shared.storage.memory import MemoryBlobStorage
from shared.storage.s3 import S3BlobStorage

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BlobInfo",
    "BlobNotFoundError",
    "BlobStorage",
    "LocalBlobStorage",
    "MemoryBlobStorage",
    "S3BlobStorage",
    "blob_key",
    "metadata_key",
    "open_storage",
    "validate_key",
]

_SCHEMES = frozenset({"file", "memory", "s3"})


async def open_storage(url: str, **s3_options: Any) -> BlobStorage:
    """Build the adapter ``url`` names (see the module docstring)."""
    if not url:
        raise ValueError("storage URL is empty")
    parts = urlsplit(url)
    if "://" not in url and parts.scheme not in _SCHEMES:
        return LocalBlobStorage(Path(url))
    if parts.scheme == "file":
        return LocalBlobStorage(_file_url_path(url))
    if parts.scheme == "memory" and not (parts.netloc or parts.path):
        return MemoryBlobStorage()
    if parts.scheme == "s3" and parts.netloc:
        return await S3BlobStorage.create(
            bucket=parts.netloc, prefix=unquote(parts.path).strip("/"), **s3_options
        )
    raise ValueError(f"unsupported storage URL {url!r}")


def _file_url_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise ValueError(f"file URL must hold an absolute path: {url!r}")
    return Path(unquote(parts.path))
