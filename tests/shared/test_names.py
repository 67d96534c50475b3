"""NAM-1..3 and VER-1, VER-2, VER-5 helpers."""

from __future__ import annotations

import pytest

from shared.names import is_valid_name, normalize_name, parse_version, sort_versions, version_key


@pytest.mark.parametrize("name", ["FrIeNdLy-._.-bArD", "friendly_bard", "Friendly.Bard"])
def test_nam1_normalisation(name: str) -> None:
    assert normalize_name(name) == "friendly-bard"


@pytest.mark.parametrize("name", ["-foo", "foo-", "foo bar", "foö", "foo\n", ""])
def test_nam3_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


@pytest.mark.parametrize("name", ["a", "A1.b_c-d"])
def test_nam3_valid_names(name: str) -> None:
    assert is_valid_name(name)


def test_ver1_parse_version() -> None:
    assert parse_version("latest") is None
    assert str(parse_version("v1.0")) == "1.0"


def test_ver2_equal_versions_share_a_key() -> None:
    assert version_key("1.0") == version_key("1.0.0") == version_key("v1.0")
    assert version_key("1.0c1") == version_key("1.0rc1")


def test_ver5_pep440_order() -> None:
    versions = ["1!0.1", "1.0.post1", "1.0", "1.0rc1", "1.0a1", "1.0.dev1", "not-a-version"]
    assert sort_versions(versions) == ["not-a-version", "1.0.dev1", "1.0a1", "1.0rc1", "1.0", "1.0.post1", "1!0.1"]
