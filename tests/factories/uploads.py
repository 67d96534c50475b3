"""Uploading the way twine does: the same multipart fields, Basic auth with ``__token__``."""

from __future__ import annotations

import email.parser
import hashlib
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import httpx


def read_core_metadata(path: Path) -> email.message.Message:
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            raw = zf.read(name)
    else:
        with tarfile.open(path, "r:gz") as tf:
            member = next(m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
            raw = tf.extractfile(member).read()  # type: ignore[union-attr]
    return email.parser.BytesParser().parsebytes(raw)


def twine_fields(path: Path, **overrides: Any) -> dict[str, Any]:
    """The form twine sends for ``path`` (metadata from inside the artifact); ``None`` drops a field."""
    meta = read_core_metadata(path)
    content = path.read_bytes()
    is_wheel = path.name.endswith(".whl")
    fields: dict[str, Any] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": meta["Metadata-Version"],
        "name": meta["Name"],
        "version": meta["Version"],
        "filetype": "bdist_wheel" if is_wheel else "sdist",
        "pyversion": path.name.split("-")[-3] if is_wheel else "source",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(content, digest_size=32).hexdigest(),
    }
    if meta["Summary"]:
        fields["summary"] = meta["Summary"]
    if meta.get_all("Requires-Dist"):
        fields["requires_dist"] = meta.get_all("Requires-Dist")
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


async def upload(
    client: httpx.AsyncClient, path: Path, *, token: str | None, filename: str | None = None,
    content: bytes | None = None, url: str = "/legacy/", **overrides: Any,
) -> httpx.Response:
    data = twine_fields(path, **overrides)
    files = {"content": (filename or path.name, content if content is not None else path.read_bytes(),
                         "application/octet-stream")}
    auth = ("__token__", token) if token is not None else None
    return await client.post(url, data=data, files=files, auth=auth)


def subdir(base: Path, name: str) -> Path:
    """A fresh directory to build a distribution in (two builds of one filename need two)."""
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path
