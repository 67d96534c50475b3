"""Author-email and Maintainer-email (STANDARDS §15 CMD-10)."""

from __future__ import annotations

import email.utils
import re
from typing import Final

from services.upload.validation.metadata.messages import invalid

_ADDRESS_RE: Final = re.compile(r"[^@\s]+@[^@\s]+")


def check_addresses(header: str, value: str | None) -> str | None:
    """CMD-10: an RFC 822 address list, e.g. ``Jane Doe <jane@example.org>, bob@example.org``."""
    if value is None:
        return None
    addresses = email.utils.getaddresses([value])
    if not addresses or any(not _ADDRESS_RE.fullmatch(addr) for _, addr in addresses):
        raise invalid(
            header,
            value,
            "not a valid RFC 822 address list",
            "use 'Name <user@example.org>' entries separated by commas, quoting names that contain commas",
        )
    return value
