"""Project-URL, Home-page and Download-URL (STANDARDS §15 CMD-10; POL-5)."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from services.upload.validation.metadata.messages import invalid

MAX_PROJECT_URL_LABEL_LENGTH: Final = 32  # CMD-10, POL-5


def project_urls(values: list[str]) -> dict[str, str]:
    """CMD-10, POL-5: ``Label, URL`` with a unique label of at most 32 characters and an http(s) URL."""
    urls: dict[str, str] = {}
    for value in (str(v) for v in values):
        label, comma, url = (part.strip() for part in value.partition(","))
        if not comma or not label or not url:
            raise invalid(
                "Project-URL",
                value,
                "must be 'Label, URL'",
                "e.g. 'Documentation, https://example.org/docs'",
            )
        if len(label) > MAX_PROJECT_URL_LABEL_LENGTH:
            raise invalid(
                "Project-URL",
                value,
                f"the label is {len(label)} characters; at most {MAX_PROJECT_URL_LABEL_LENGTH} are allowed",
                "shorten the label",
            )
        if label in urls:
            raise invalid("Project-URL", value, f"the label {label!r} is used twice", "give each URL a distinct label")
        urls[label] = check_url("Project-URL", url) or url
    return urls


def check_url(header: str, value: str | None) -> str | None:
    """CMD-10: an absolute http(s) URL with a host."""
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in value):
        raise invalid(
            header,
            value,
            "not a valid http(s) URL",
            "use an absolute URL such as 'https://example.org/project'",
        )
    return value
