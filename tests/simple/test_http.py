"""ETag and byte-range helpers (STANDARDS API-9, API-10; RFC 9110) in services.simple.http."""

from __future__ import annotations

import re

import pytest

from services.simple.http import (
    UNSATISFIABLE,
    content_range,
    etag_matches,
    make_etag,
    parse_range,
    unsatisfied_content_range,
)


class TestMakeEtag:
    def test_api10_etag_is_strong_and_quoted(self) -> None:
        etag = make_etag("project", "demo", 42, "text/html")
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)

    def test_api10_etag_is_deterministic(self) -> None:
        assert make_etag("demo", 42) == make_etag("demo", 42)

    def test_api10_etag_changes_with_any_part(self) -> None:
        base = make_etag("project", "demo", 42, "text/html")
        assert base != make_etag("project", "demo", 43, "text/html")
        assert base != make_etag("project", "demo", 42, "application/vnd.pypi.simple.v1+json")

    def test_api10_part_boundaries_matter(self) -> None:
        assert make_etag("ab", "c") != make_etag("a", "bc")
        assert make_etag("a1:b") != make_etag("a", "b")

    def test_api10_bytes_parts_are_hashed(self) -> None:
        assert make_etag(b"body") == make_etag("body")
        assert make_etag(b"body") != make_etag(b"other")


class TestEtagMatches:
    ETAG = '"abc123"'

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            (None, False),
            ("", False),
            ('"abc123"', True),
            ('"other"', False),
            ("*", True),
            (" * ", True),
            ('"x", "abc123"', True),
            ('"x","y" , "abc123" ', True),
            ('"x", "y"', False),
            ('W/"abc123"', True),  # weak comparison ignores W/ (RFC 9110 §13.1.2)
            ('"x", W/"abc123"', True),
            ('"a,b", "abc123"', True),  # commas may sit inside an opaque tag
            ('"abc123", ', True),
            ("abc123", False),  # unquoted: malformed
            ('"x" "abc123"', False),  # no separator: malformed
            ('"abc', False),
        ],
    )
    def test_api10_if_none_match(self, header: str | None, expected: bool) -> None:
        assert etag_matches(header, self.ETAG) is expected

    def test_api10_weak_server_etag_matches_strong_header(self) -> None:
        assert etag_matches('"abc123"', 'W/"abc123"')

    def test_api10_comma_inside_tag_is_not_split(self) -> None:
        assert etag_matches('"a,b"', '"a,b"')
        assert not etag_matches('"a,b"', '"a"')

    def test_api10_matches_make_etag(self) -> None:
        etag = make_etag("index", 7, "text/html")
        assert etag_matches(f'"stale", {etag}', etag)


class TestParseRange:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("bytes=0-99", (0, 99)),
            ("bytes=0-0", (0, 0)),
            ("bytes=500-", (500, 999)),
            ("bytes=500-5000", (500, 999)),  # end clamped to the last byte
            ("bytes=999-999", (999, 999)),
            ("bytes=-22", (978, 999)),  # suffix: uv reads the zip end record this way (API-9)
            ("bytes=-1000", (0, 999)),
            ("bytes=-5000", (0, 999)),
            ("BYTES=1-2", (1, 2)),  # the unit is case-insensitive
            ("bytes= 1-2 ", (1, 2)),
            ("bytes=1-2,", (1, 2)),  # empty list elements are allowed
        ],
    )
    def test_api9_satisfiable_single_range(self, header: str, expected: tuple[int, int]) -> None:
        assert parse_range(header, size=1000) == expected

    @pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1001", "bytes=5000-", "bytes=-0"])
    def test_api9_unsatisfiable_range(self, header: str) -> None:
        assert parse_range(header, size=1000) == UNSATISFIABLE == "unsatisfiable"

    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "bytes=0-1,5-6",  # several ranges: serve the whole file (200)
            "bytes=-5,0-1",
            "items=0-1",
            "0-1",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=5-1",  # last before first: invalid
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1_0-20",
            "bytes=\uff11-2",  # non-ASCII digit
            "bytes=1 - 2",
            "bytes=1-2-3",
        ],
    )
    def test_api9_ignored_range_means_full_response(self, header: str | None) -> None:
        assert parse_range(header, size=1000) is None

    def test_api9_empty_file_int_range_is_unsatisfiable(self) -> None:
        assert parse_range("bytes=0-", size=0) == UNSATISFIABLE

    def test_api9_empty_file_suffix_range_is_the_whole_file(self) -> None:
        assert parse_range("bytes=-5", size=0) is None


class TestContentRange:
    def test_api9_partial_content_range(self) -> None:
        assert content_range(0, 99, 1000) == "bytes 0-99/1000"

    def test_api9_round_trip_with_parse_range(self) -> None:
        wanted = parse_range("bytes=-22", size=1000)
        assert isinstance(wanted, tuple)
        assert content_range(*wanted, 1000) == "bytes 978-999/1000"

    def test_api9_unsatisfied_content_range(self) -> None:
        assert unsatisfied_content_range(1000) == "bytes */1000"
