"""Content negotiation (STANDARDS NEG-2..NEG-6) for services.simple.negotiation."""

from __future__ import annotations

import pytest

from services.simple.negotiation import (
    HTML_LATEST,
    HTML_V1,
    JSON_LATEST,
    JSON_V1,
    SUPPORTED_MEDIA_TYPES,
    TEXT_HTML,
    MediaRange,
    choose_media_type,
    parse_accept,
)
from shared.errors import NotAcceptableError

# pip's header, from pip/_internal/index/collector.py.
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
)
# uv's header, from uv-client's registry client.
UV_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


class TestParseAccept:
    def test_neg3_no_header_means_any_type(self) -> None:
        assert parse_accept(None) == [MediaRange("*", "*", 1.0)]

    def test_neg3_empty_header_means_any_type(self) -> None:
        assert parse_accept("  ") == [MediaRange("*", "*", 1.0)]

    def test_neg3_pip_header_is_parsed_in_order_with_qualities(self) -> None:
        assert parse_accept(PIP_ACCEPT) == [
            MediaRange("application", "vnd.pypi.simple.v1+json", 1.0),
            MediaRange("application", "vnd.pypi.simple.v1+html", 0.1),
            MediaRange("text", "html", 0.01),
        ]

    @pytest.mark.parametrize(
        ("header", "quality"),
        [
            ("text/html", 1.0),
            ("text/html;q=1", 1.0),
            ("text/html;q=1.000", 1.0),
            ("text/html;q=0", 0.0),
            ("text/html;q=0.", 0.0),
            ("text/html;q=0.5", 0.5),
            ("text/html;q=0.125", 0.125),
            ("text/html; Q=0.3", 0.3),
            ("text/html;charset=utf-8;q=0.4", 0.4),
            ("text/html;q=0.4;ext=1", 0.4),
        ],
    )
    def test_neg3_quality_values(self, header: str, quality: float) -> None:
        assert parse_accept(header) == [MediaRange("text", "html", quality)]

    @pytest.mark.parametrize(
        "element",
        [
            "text/html;q=1.5",  # above 1
            "text/html;q=1.001",
            "text/html;q=0.1234",  # more than three decimals
            "text/html;q=-0.1",
            "text/html;q=.5",
            "text/html;q=",
            "text/html;q=abc",
            "html",  # no subtype
            "text/",
            "*/html",  # a subtype wildcard needs a type wildcard
            "text html/x",
        ],
    )
    def test_neg3_invalid_elements_are_dropped(self, element: str) -> None:
        assert parse_accept(f"{element}, application/vnd.pypi.simple.v1+json") == [
            MediaRange("application", "vnd.pypi.simple.v1+json", 1.0)
        ]

    def test_neg3_header_with_only_invalid_elements_means_any_type(self) -> None:
        assert parse_accept("garbage, text/html;q=7") == [MediaRange("*", "*", 1.0)]

    def test_neg3_types_are_case_insensitive(self) -> None:
        assert parse_accept("Text/HTML") == [MediaRange("text", "html", 1.0)]

    def test_neg2_latest_aliases_are_read_as_v1(self) -> None:
        assert parse_accept(f"{JSON_LATEST}, {HTML_LATEST};q=0.5") == [
            MediaRange("application", "vnd.pypi.simple.v1+json", 1.0),
            MediaRange("application", "vnd.pypi.simple.v1+html", 0.5),
        ]

    @pytest.mark.parametrize(
        ("media_range", "specificity"),
        [("*/*", 0), ("text/*", 1), ("text/html", 2)],
    )
    def test_neg3_specificity(self, media_range: str, specificity: int) -> None:
        assert parse_accept(media_range)[0].specificity == specificity


class TestChooseMediaType:
    @pytest.mark.parametrize(
        ("accept", "expected"),
        [
            # NEG-4 test line.
            pytest.param(PIP_ACCEPT, JSON_V1, id="pip"),
            pytest.param(UV_ACCEPT, JSON_V1, id="uv"),
            pytest.param("text/html", TEXT_HTML, id="text-html"),
            pytest.param(None, TEXT_HTML, id="no-header"),
            pytest.param("", TEXT_HTML, id="empty-header"),
            pytest.param("*/*", TEXT_HTML, id="any"),
            pytest.param("application/*", HTML_V1, id="application-wildcard"),
            pytest.param(f"{JSON_V1}, */*", JSON_V1, id="json-and-any"),
            # Explicit ties: JSON, then v1+html, then text/html, whatever the list order (NEG-3, NEG-4).
            pytest.param(f"{TEXT_HTML}, {HTML_V1}, {JSON_V1}", JSON_V1, id="all-three-explicit"),
            pytest.param(f"{TEXT_HTML}, {HTML_V1}", HTML_V1, id="both-html-explicit"),
            pytest.param(HTML_V1, HTML_V1, id="v1-html"),
            pytest.param(JSON_V1, JSON_V1, id="v1-json"),
            # Quality decides before the tie rule.
            pytest.param(f"{TEXT_HTML};q=0.01, {HTML_V1};q=0.2, {JSON_V1}", JSON_V1, id="uv-reordered"),
            pytest.param(f"{JSON_V1};q=0.1, {TEXT_HTML}", TEXT_HTML, id="low-json"),
            pytest.param(f"{HTML_V1};q=0.5, {JSON_V1};q=0.499", HTML_V1, id="three-decimals"),
            # The most specific range sets a type's quality (NEG-3).
            pytest.param(f"*/*;q=0.5, {TEXT_HTML};q=0.4", HTML_V1, id="specific-lowers-text-html"),
            pytest.param(f"{TEXT_HTML};q=0, */*", HTML_V1, id="text-html-refused"),
            pytest.param(f"{JSON_V1};q=0, */*", TEXT_HTML, id="json-refused"),
            pytest.param(f"application/*;q=0.5, {JSON_V1};q=0", HTML_V1, id="json-refused-in-application"),
            pytest.param("text/*", TEXT_HTML, id="text-wildcard"),
            pytest.param(
                f"{TEXT_HTML};q=0.1, {TEXT_HTML};q=0.9, {JSON_V1};q=0.5", TEXT_HTML, id="duplicate-range"
            ),
            # Tolerated syntax.
            pytest.param(f" {JSON_V1} ; q=0.5 , {TEXT_HTML} ; q=0.4", JSON_V1, id="whitespace"),
            pytest.param("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", JSON_V1, id="upper-case"),
            pytest.param(f"{TEXT_HTML};q=1.5, {JSON_V1};q=0.5", JSON_V1, id="invalid-q-dropped"),
            pytest.param("application/json, */*;q=0.1", TEXT_HTML, id="unsupported-plus-wildcard"),
        ],
    )
    def test_neg4_table(self, accept: str | None, expected: str) -> None:
        assert choose_media_type(accept) == expected

    @pytest.mark.parametrize(
        ("accept", "expected"),
        [
            (JSON_LATEST, JSON_V1),
            (HTML_LATEST, HTML_V1),
            (f"{HTML_LATEST};q=0.5, {TEXT_HTML};q=0.4", HTML_V1),
        ],
    )
    def test_neg2_latest_is_answered_with_v1(self, accept: str, expected: str) -> None:
        assert choose_media_type(accept) == expected

    @pytest.mark.parametrize(
        "accept",
        [
            "application/json",
            "application/vnd.pypi.simple.v2+json",
            "image/*",
            "*/*;q=0",
            f"{TEXT_HTML};q=0",
            f"{JSON_V1};q=0, {HTML_V1};q=0, {TEXT_HTML};q=0",
        ],
    )
    def test_neg5_nothing_acceptable_is_406(self, accept: str) -> None:
        with pytest.raises(NotAcceptableError) as raised:
            choose_media_type(accept)
        assert raised.value.status_code == 406

    def test_neg5_message_lists_supported_types(self) -> None:
        with pytest.raises(NotAcceptableError) as raised:
            choose_media_type("application/json")
        for media_type in SUPPORTED_MEDIA_TYPES:
            assert media_type in raised.value.message
        assert raised.value.details == {"supported": list(SUPPORTED_MEDIA_TYPES)}

    def test_neg6_format_overrides_accept(self) -> None:
        assert choose_media_type("text/html", format_param=JSON_V1) == JSON_V1

    def test_neg6_format_overrides_pip_accept(self) -> None:
        assert choose_media_type(PIP_ACCEPT, format_param=TEXT_HTML) == TEXT_HTML

    def test_neg6_format_overrides_a_refusing_accept(self) -> None:
        assert choose_media_type("application/json", format_param=HTML_V1) == HTML_V1

    def test_neg6_format_latest_is_v1(self) -> None:
        assert choose_media_type(None, format_param=JSON_LATEST) == JSON_V1

    def test_neg6_format_is_case_insensitive(self) -> None:
        assert choose_media_type(None, format_param=" Application/VND.pypi.simple.v1+JSON ") == JSON_V1

    @pytest.mark.parametrize("value", ["application/json", "json", "", f"{JSON_V1};q=1", "*/*"])
    def test_neg6_unknown_format_is_406(self, value: str) -> None:
        with pytest.raises(NotAcceptableError):
            choose_media_type(JSON_V1, format_param=value)

    def test_neg2_result_is_always_a_concrete_supported_type(self) -> None:
        for accept in (PIP_ACCEPT, UV_ACCEPT, None, "*/*", JSON_LATEST, HTML_LATEST, "text/*"):
            assert choose_media_type(accept) in SUPPORTED_MEDIA_TYPES
