"""Summary and Keywords (STANDARDS POL-5)."""

from __future__ import annotations

import re
from typing import Final

from services.upload.validation.metadata.messages import invalid

MAX_SUMMARY_LENGTH: Final = 512  # POL-5
_LINE_BREAK_RE: Final = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def check_summary(value: str | None) -> str | None:
    """POL-5: Summary is one line of at most 512 characters."""
    if value is None:
        return None
    if _LINE_BREAK_RE.search(value):
        raise invalid("Summary", value, "must be a single line", "put longer text in the description")
    if len(value) > MAX_SUMMARY_LENGTH:
        raise invalid(
            "Summary",
            value,
            f"{len(value)} characters, more than {MAX_SUMMARY_LENGTH}",
            "shorten it; put details in the description",
        )
    return value


def split_keywords(values: list[str]) -> list[str]:
    """Keywords: comma-separated (whitespace-separated if there is no comma), stripped, empties dropped."""
    text = ",".join(values)
    parts = text.split(",") if "," in text else text.split()
    return [part.strip() for part in parts if part.strip()]
