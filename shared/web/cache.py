"""Cache headers for reads (DESIGN.md "Reads: the edge does the work").

``Cache-Control`` is for clients, ``Surrogate-Control`` for the edge (which
strips it), and ``Surrogate-Key`` names what the response depends on so the
purger can invalidate exactly that.
"""

from __future__ import annotations

IMMUTABLE_MAX_AGE = 365 * 24 * 3600
# Surrogate-Keys: what a cached response depends on, and what the purger (shared/edge/purger.py)
# purges when the journal says it changed.
INDEX_KEY = "simple-index"  # /simple/ itself
CHANGELOG_KEY = "changelog"  # the changelog's newest, still-growing page
CHANGELOG_ARCHIVE_KEY = "changelog-archive"  # full changelog pages, which never change
SEARCH_KEY = "search"  # search results


def project_key(name: str) -> str:
    """A project's pages: /simple/<name>/ and its JSON API."""
    return f"project/{name}"


def project_files_key(name: str) -> str:
    """A project's files and their .metadata: immutable, but gone when deleted."""
    return f"project-files/{name}"


def page_headers(
    *, max_age: int, surrogate_max_age: int, keys: list[str], stale_if_error: int, stale_while_revalidate: int
) -> dict[str, str]:
    """Headers for a mutable page: short client TTL, long edge TTL until purged."""
    return {
        "Cache-Control": f"max-age={max_age}, public",
        "Surrogate-Control": (
            f"max-age={surrogate_max_age}, stale-while-revalidate={stale_while_revalidate}, "
            f"stale-if-error={stale_if_error}"
        ),
        "Surrogate-Key": " ".join(keys),
    }


def immutable_headers(*, keys: list[str]) -> dict[str, str]:
    """Headers for a file: it never changes, so everyone may keep it forever."""
    return {
        "Cache-Control": f"max-age={IMMUTABLE_MAX_AGE}, public, immutable",
        "Surrogate-Control": f"max-age={IMMUTABLE_MAX_AGE}",
        "Surrogate-Key": " ".join(keys),
    }


NO_STORE = {"Cache-Control": "no-store"}
