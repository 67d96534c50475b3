"""HTML and JSON serialization of simple API pages (STANDARDS API-5, HTML-1..10, JSON-1..11, MIR-3).

Both formats are rendered from the same :mod:`services.simple.pages` model
(JSON-11).  Project pages with ten thousand files exist, so rendering is built
for speed rather than through a template engine:

* a column of filenames or URLs is checked for characters that need escaping
  with a few whole-column scans; only a column that has one is escaped;
* values shared by many files (``Requires-Python``, yank reasons) are encoded
  once per distinct value;
* upload times are assembled from precomputed digit tables, not ``isoformat``;
* each file then costs one f-string;
* rows are rendered and encoded a slice at a time, so each slice reuses the
  memory the previous one freed instead of touching fresh pages, and the page
  is one ``bytes.join`` of the slices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from html import escape
from json.encoder import encode_basestring_ascii
from operator import attrgetter
from typing import Any, Final, TypeVar

from services.simple.pages import FileEntry, IndexPage, ProjectPage

#: API-5, API-7: the version advertised on every page; HTML stays at 1.4 (PEP 833).
API_VERSION: Final = "1.4"

#: Rows rendered and encoded at a time, so a slice reuses the memory the previous slice freed.
_SLICE_ROWS: Final = 512

_Item = TypeVar("_Item")

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_requires_python = attrgetter("requires_python")
_yank_state = attrgetter("yanked", "yanked_reason")
_upload_time = attrgetter("upload_time")

#: Characters that ``html.escape(quote=True)`` rewrites.
_HTML_SPECIAL: Final = "&<>\"'"
#: Characters a JSON string literal may not hold raw.
_JSON_SPECIAL: Final = '"\\' + "".join(map(chr, range(0x20)))

_HTML_HEAD_START: Final = (
    "<!DOCTYPE html>\n<html>\n  <head>\n"
    '    <meta charset="utf-8">\n'
    f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
)
_HTML_END: Final = "  </body>\n</html>\n"


# ---------------------------------------------------------------------------
# Project pages


def render_project_html(page: ProjectPage) -> bytes:
    """The PEP 503 project page: one anchor per listed file (HTML-1..9; none when quarantined, STS-2)."""
    name = escape(page.name)
    head = _html_head(f"Links for {name}", extra=_html_status_meta(page))
    rows = _encoded_rows(_html_anchors, page.listed_files, separator="")
    return _document(f"{head}  <body>\n    <h1>Links for {name}</h1>\n", rows, _HTML_END)


def render_project_json(page: ProjectPage) -> bytes:
    """The PEP 691 project page (JSON-1, JSON-3..10, MIR-3; no files when quarantined, STS-2)."""
    status = "" if page.is_active else f',"project-status":{_dumps(_status_object(page))}'
    head = (
        f'{{"meta":{_json_meta(page.last_serial)},"name":{_dumps(page.name)},'
        f'"versions":{_dumps(list(page.listed_versions))}{status},"files":['
    )
    return _document(head, _encoded_rows(_json_files, page.listed_files, separator=","), "]}")


def _html_status_meta(page: ProjectPage) -> str:
    """HTML-9: status markers, omitted for ``active`` projects."""
    if page.is_active:
        return ""
    tags = f'    <meta name="pypi:project-status" content="{escape(page.status)}">\n'
    if page.status_reason:
        tags += f'    <meta name="pypi:project-status-reason" content="{escape(page.status_reason)}">\n'
    return tags


def _status_object(page: ProjectPage) -> dict[str, str]:
    """JSON-10: ``{"status": …, "reason": …}``, the reason only when there is one."""
    status = {"status": page.status}
    if page.status_reason:
        status["reason"] = page.status_reason
    return status


def _html_anchors(files: Sequence[FileEntry]) -> list[str]:
    """One ``<a>`` line per file: href ``url#sha256=…`` (HTML-3, HTML-4), data attributes (HTML-5..7)."""
    if not files:
        return []
    names = _html_escape_all([f.filename for f in files])
    urls = _html_escape_all([f.url for f in files])
    requires = _encode_once(map(_requires_python, files), _html_requires_python)
    yanks = _encode_once(_yank_keys(files), _html_yanked)
    return [
        f'<a href="{url}#sha256={f.sha256}"{requires[f.requires_python]}'
        f"{yanks[f.yanked and f.yanked_reason]}"
        f"{_html_core_metadata(f.core_metadata_sha256)}>{name}</a><br>\n"
        for f, name, url in zip(files, names, urls, strict=True)
    ]


def _html_requires_python(value: str | None) -> str:
    """HTML-5: escaped ``data-requires-python``, absent when there is none."""
    return f' data-requires-python="{escape(value)}"' if value else ""


def _html_yanked(state: object) -> str:
    """HTML-6: the escaped reason, empty without one; no attribute when not yanked.

    ``state`` is ``yanked and yanked_reason``: a string (yanked, maybe with an
    empty reason), ``None`` (yanked, no reason) or a false ``yanked`` value.
    """
    if isinstance(state, str):
        return f' data-yanked="{escape(state)}"'
    return ' data-yanked=""' if state is None else ""


def _html_core_metadata(sha256: str | None) -> str:
    """HTML-7 / MDF-2: the PEP 714 and the older PEP 658 attribute, same value; neither without metadata."""
    if sha256 is None:
        return ""
    return f' data-dist-info-metadata="sha256={sha256}" data-core-metadata="sha256={sha256}"'


def _json_files(files: Sequence[FileEntry]) -> list[str]:
    """One JSON object per file (JSON-4..8)."""
    if not files:
        return []
    names = _json_string_bodies([f.filename for f in files])
    urls = _json_string_bodies([f.url for f in files])
    requires = _encode_once(map(_requires_python, files), _json_requires_python)
    yanks = _encode_once(_yank_keys(files), _json_yanked)
    days, minutes, seconds, digits = _DAYS, _HOUR_MINUTES, _SECONDS, _THREE_DIGITS
    return [
        f'{{"filename":"{name}","url":"{url}","hashes":{{"sha256":"{f.sha256}"}},"size":{f.size},'
        f'"upload-time":"{days[t.toordinal()]}{minutes[t.hour * 60 + t.minute]}{seconds[t.second]}'
        f'{digits[t.microsecond // 1000]}{digits[t.microsecond % 1000]}Z"{requires[f.requires_python]}'
        f"{'' if f.core_metadata_sha256 is None else _json_core_metadata(f.core_metadata_sha256)}"
        f',"yanked":{yanks[f.yanked and f.yanked_reason]}}}'
        for f, name, url, t in zip(files, names, urls, map(_upload_time, files), strict=True)
    ]


def _json_requires_python(value: str | None) -> str:
    """JSON-6: the plain string, key omitted when there is none."""
    return f',"requires-python":{_dumps(value)}' if value else ""


def _json_yanked(state: object) -> str:
    """JSON-8: ``false``, ``true`` (yanked, no reason) or the reason; ``state`` as in ``_html_yanked``."""
    if isinstance(state, str):
        return _dumps(state) if state else "true"
    return "true" if state is None else "false"


def _json_core_metadata(sha256: str) -> str:
    """JSON-7: ``core-metadata`` only; the deprecated ``dist-info-metadata`` key is never sent."""
    return f',"core-metadata":{{"sha256":"{sha256}"}}'


def _yank_keys(files: Sequence[FileEntry]) -> set[object]:
    """The distinct ``yanked and yanked_reason`` values, the key the row templates look up."""
    return {yanked and reason for yanked, reason in set(map(_yank_state, files))}


# ---------------------------------------------------------------------------
# Upload times (JSON-5): "YYYY-MM-DDTHH:MM:SS.ffffffZ" from lookup tables.


class _DayPrefixes(dict[int, str]):
    """Proleptic Gregorian ordinal → ``"YYYY-MM-DDT"``, filled on first use (a few thousand days at most)."""

    def __missing__(self, ordinal: int) -> str:
        prefix = self[ordinal] = f"{date.fromordinal(ordinal).isoformat()}T"
        return prefix


_DAYS: Final = _DayPrefixes()
_HOUR_MINUTES: Final = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECONDS: Final = tuple(f"{s:02d}." for s in range(60))
_THREE_DIGITS: Final = tuple(f"{n:03d}" for n in range(1000))


# ---------------------------------------------------------------------------
# Root page


def render_index_html(page: IndexPage) -> bytes:
    """The PEP 503 root: one anchor per project, relative href ``<name>/`` (HTML-1, HTML-2)."""
    head = f"{_html_head('Simple index')}  <body>\n    <h1>Simple index</h1>\n"
    return _document(head, _encoded_rows(_html_project_anchors, page.projects, separator=""), _HTML_END)


def render_index_json(page: IndexPage) -> bytes:
    """The PEP 691 root with ``_last-serial`` per project and in ``meta`` (JSON-1, JSON-2, MIR-3)."""
    head = f'{{"meta":{_json_meta(page.last_serial)},"projects":['
    return _document(head, _encoded_rows(_json_projects, page.projects, separator=","), "]}")


def _html_project_anchors(projects: Sequence[tuple[str, int]]) -> list[str]:
    names = _html_escape_all([name for name, _ in projects])
    return [f'<a href="{name}/">{name}</a><br>\n' for name in names]


def _json_projects(projects: Sequence[tuple[str, int]]) -> list[str]:
    names = _json_string_bodies([name for name, _ in projects])
    rows = zip(names, [serial for _, serial in projects], strict=True)
    return [f'{{"name":"{name}","_last-serial":{serial}}}' for name, serial in rows]


# ---------------------------------------------------------------------------
# Shared pieces


def _document(head: str, rows: Iterable[bytes], tail: str) -> bytes:
    """``head``, the encoded row slices and ``tail`` as one UTF-8 body."""
    return b"".join([head.encode(), *rows, tail.encode()])


def _encoded_rows(
    render: Callable[[Sequence[_Item]], list[str]], items: Sequence[_Item], *, separator: str
) -> Iterator[bytes]:
    """``render`` applied to ``items`` a slice at a time, each slice joined and encoded.

    Rows are joined with ``separator``, slices included: every slice after the
    first starts with one.
    """
    for start in range(0, len(items), _SLICE_ROWS):
        rows = render(items[start : start + _SLICE_ROWS])
        if start:
            rows.insert(0, "")
        yield separator.join(rows).encode()


def _html_head(title: str, *, extra: str = "") -> str:
    """Doctype through ``</head>``: charset and API version (HTML-1, API-5); ``title`` comes escaped."""
    return f"{_HTML_HEAD_START}{extra}    <title>{title}</title>\n  </head>\n"


def _json_meta(last_serial: int) -> str:
    """API-5 ``api-version`` plus the private MIR-3 ``_last-serial`` (API-11)."""
    return _dumps({"api-version": API_VERSION, "_last-serial": last_serial})


def _encode_once(values: Iterable[Any], encode: Callable[[Any], str]) -> dict[Any, str]:
    """Encode each distinct value once; files share few ``Requires-Python`` values and yank reasons."""
    return {value: encode(value) for value in set(values)}


def _html_escape_all(values: list[str]) -> list[str]:
    """``html.escape`` (quotes included) of every value; a column with nothing to escape is returned as is."""
    if _has_any("".join(values), _HTML_SPECIAL):
        return [escape(value) for value in values]
    return values


def _json_string_bodies(values: list[str]) -> list[str]:
    """Every value escaped for use between JSON double quotes; a clean column is returned as is."""
    if _has_any("".join(values), _JSON_SPECIAL):
        return [encode_basestring_ascii(value)[1:-1] for value in values]
    return values


def _has_any(text: str, characters: str) -> bool:
    """Whether ``text`` holds one of ``characters``: one C-level scan per character, no per-item work."""
    return any(character in text for character in characters)
