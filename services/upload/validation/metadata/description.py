"""Description-Content-Type and rendering of the long description (STANDARDS §15 CMD-7)."""

from __future__ import annotations

import email.message
import io
from typing import Final

from readme_renderer.rst import render as render_rst

from services.upload.errors import InvalidMetadataError
from services.upload.validation.metadata.messages import invalid

CONTENT_TYPES: Final = frozenset({"text/plain", "text/x-rst", "text/markdown"})  # CMD-7
MARKDOWN_VARIANTS: Final = ("GFM", "CommonMark")  # CMD-7


def check_content_type(value: str | None) -> str | None:
    """CMD-7: text/plain, text/x-rst or text/markdown; charset UTF-8; markdown variant GFM or CommonMark."""
    if value is None:
        return None
    header = email.message.Message()
    header["Content-Type"] = value
    content_type = header.get_content_type()
    allowed = ", ".join(sorted(CONTENT_TYPES))
    if content_type not in CONTENT_TYPES or value.split(";")[0].strip().lower() != content_type:
        raise invalid("Description-Content-Type", value, "not a supported content type", f"use one of {allowed}")
    charset = header.get_param("charset", "UTF-8")
    if not isinstance(charset, str) or charset.upper() != "UTF-8":
        raise invalid(
            "Description-Content-Type",
            value,
            "only charset=UTF-8 is allowed",
            "remove the charset or use UTF-8",
        )
    variant = header.get_param("variant", "GFM")
    if content_type == "text/markdown" and variant not in MARKDOWN_VARIANTS:
        raise invalid(
            "Description-Content-Type", value, "unknown Markdown variant", "use variant=GFM or variant=CommonMark"
        )
    return value


def check_renders(description: str | None, *, content_type: str | None) -> None:
    """CMD-7: an explicit reStructuredText description must render (readme_renderer, as PyPI does)."""
    if description is None or content_type is None or not content_type.lower().startswith("text/x-rst"):
        return
    warnings = io.StringIO()  # keeps docutils off stderr
    if render_rst(description, stream=warnings) is None:
        details = " ".join(warnings.getvalue().replace("<string>:", "line ").split())[:300]
        raise InvalidMetadataError(
            "Invalid Description: the reStructuredText long description does not render "
            f"({details}); fix the markup (check it with 'twine check'), or declare "
            "'Description-Content-Type: text/markdown' or 'text/plain'."
        )
