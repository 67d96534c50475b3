"""The suite's secret key: signs API tokens, email links and password-reset links.

Production requires ``WHEELHOUSE_SECRET_KEY`` (settings refuse to load without it).
In development a random key is generated once into ``<data_dir>/secret_key``
(mode 0600), so that tokens survive restarts of the embedded default.  Keys in
``WHEELHOUSE_SECRET_KEY_FALLBACKS`` still verify, which lets operators rotate the
key without invalidating every token at once.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shared.config import SharedSettings

KEY_FILE = "secret_key"


def load_secret_keys(settings: SharedSettings) -> tuple[bytes, ...]:
    """The current key first, then the fallbacks."""
    if settings.secret_key is not None:
        current = settings.secret_key.get_secret_value().encode()
    else:
        current = _development_key(settings.data_dir / KEY_FILE)
    return (current, *(key.get_secret_value().encode() for key in settings.secret_key_fallbacks))


def _development_key(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
