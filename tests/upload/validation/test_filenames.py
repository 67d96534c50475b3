"""Filename rules for new uploads: WHL-1..6, SD-1, VER-4, POL-5 and UPL-4 (check_filetype)."""

from __future__ import annotations

import pytest
from packaging.tags import Tag
from packaging.version import Version

from services.upload.errors import InvalidFilenameError, InvalidFormError
from services.upload.validation import check_filetype, parse_distribution_filename
from services.upload.validation.types import ValidationPolicy

POLICY = ValidationPolicy()


def parse(filename: str, **policy: object) -> object:
    return parse_distribution_filename(filename, policy=ValidationPolicy(**policy))  # type: ignore[arg-type]


def refused(filename: str, **policy: object) -> str:
    with pytest.raises(InvalidFilenameError) as info:
        parse(filename, **policy)
    return info.value.message


class TestWheelGrammar:
    """WHL-1: ``{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`` via packaging."""

    def test_whl1_valid_wheel_is_parsed(self) -> None:
        parsed = parse_distribution_filename("demo-1.0-py3-none-any.whl", policy=POLICY)
        assert parsed.packagetype == "bdist_wheel"
        assert parsed.normalized_name == "demo"
        assert parsed.version == Version("1.0")
        assert parsed.build_tag is None
        assert parsed.tags == frozenset({Tag("py3", "none", "any")})
        assert parsed.python_tag == "py3"

    def test_whl1_wrong_number_of_parts_is_refused(self) -> None:
        message = refused("demo-1.0-py3-none.whl")
        assert "expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl" in message
        assert "found 4" in message

    def test_whl1_invalid_version_is_refused(self) -> None:
        assert "'latest' is not a PEP 440 version" in refused("demo-latest-py3-none-any.whl")

    def test_whl1_upper_case_extension_is_refused(self) -> None:
        assert "must be lower-case" in refused("demo-1.0-py3-none-any.WHL")

    def test_whl1_empty_tag_component_is_refused(self) -> None:
        assert "Invalid wheel filename" in refused("demo-1.0-py3.-none-any.whl")


class TestWheelName:
    """WHL-2 (with NAM-1, NAM-3): the name part is ``canonicalize_name(name).replace('-', '_')``."""

    def test_whl2_dotted_capitalised_name_is_refused(self) -> None:
        message = refused("Foo.Bar-1.0-py3-none-any.whl")
        assert "'foo_bar' instead of 'Foo.Bar'" in message

    def test_whl2_escaped_name_is_accepted(self) -> None:
        parsed = parse_distribution_filename("foo_bar-1.0-py3-none-any.whl", policy=POLICY)
        assert parsed.normalized_name == "foo-bar"

    def test_whl2_double_underscore_is_refused(self) -> None:
        assert "not a valid escaped project name" in refused("foo__bar-1.0-py3-none-any.whl")

    def test_nam3_name_starting_with_underscore_is_refused(self) -> None:
        assert "'_foo' is not a valid project name" in refused("_foo-1.0-py3-none-any.whl")


class TestWheelVersion:
    """WHL-3: the version part is spelled ``str(Version(v))`` (VER-3)."""

    @pytest.mark.parametrize(
        ("written", "normalised"),
        [
            ("1.00", "1.0"), ("1.0RC1", "1.0rc1"), ("1.0_post1", "1.0.post1"), ("v1.0", "1.0"),
            ("1.0.post01", "1.0.post1"),
        ],  # fmt: skip
    )
    def test_whl3_unnormalised_version_is_refused(self, written: str, normalised: str) -> None:
        message = refused(f"demo-{written}-py3-none-any.whl")
        assert f"it must be written {normalised!r}" in message

    @pytest.mark.parametrize("version", ["1.0rc1", "1!2.0.post1", "2024.1.dev3"])
    def test_whl3_normalised_version_is_accepted(self, version: str) -> None:
        parsed = parse_distribution_filename(f"demo-{version}-py3-none-any.whl", policy=POLICY)
        assert str(parsed.version) == version


class TestBuildTag:
    """WHL-4: an optional build tag that starts with a digit, kept as ``(int, rest)``."""

    def test_whl4_build_tag_starting_with_digit_is_accepted(self) -> None:
        parsed = parse_distribution_filename("demo-1.0-1abc-py3-none-any.whl", policy=POLICY)
        assert parsed.build_tag == (1, "abc")

    def test_whl4_build_tag_starting_with_letter_is_refused(self) -> None:
        assert "build tag 'abc' must start with a digit" in refused("demo-1.0-abc-py3-none-any.whl")


class TestCompressedTags:
    """WHL-5: compressed tag sets are expanded, in any order, and every platform is checked."""

    def test_whl5_unsorted_auditwheel_platforms_are_accepted(self) -> None:
        name = "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        parsed = parse_distribution_filename(name, policy=POLICY)
        assert {tag.platform for tag in parsed.tags} == {"manylinux_2_17_x86_64", "manylinux2014_x86_64"}

    def test_whl5_python_tag_set_is_expanded_and_kept_as_written(self) -> None:
        parsed = parse_distribution_filename("demo-1.0-py2.py3-none-any.whl", policy=POLICY)
        assert parsed.tags == frozenset({Tag("py2", "none", "any"), Tag("py3", "none", "any")})
        assert parsed.python_tag == "py2.py3"

    def test_whl5_unsupported_member_of_a_tag_set_is_refused(self) -> None:
        message = refused("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.linux_x86_64.whl")
        assert "platform tag 'linux_x86_64' is not allowed" in message


class TestPlatforms:
    """WHL-6: the public index's platform allow-list."""

    @pytest.mark.parametrize(
        "platform",
        [
            "any", "win32", "win_amd64", "win_arm64", "macosx_10_9_x86_64", "macosx_11_0_arm64",
            "macosx_15_0_universal2", "macosx_26_0_arm64", "manylinux1_x86_64", "manylinux2010_i686",
            "manylinux2014_aarch64", "manylinux_2_28_riscv64", "manylinux_2_17_ppc64", "musllinux_1_2_aarch64",
            "android_21_arm64_v8a", "ios_13_0_arm64_iphoneos", "ios_13_0_x86_64_iphonesimulator",
            "pyemscripten_2025_0_wasm32", "linux_armv6l", "linux_armv7l",
        ],
    )  # fmt: skip
    def test_whl6_allowed_platform_is_accepted(self, platform: str) -> None:
        parsed = parse_distribution_filename(f"demo-1.0-py3-none-{platform}.whl", policy=POLICY)
        assert {tag.platform for tag in parsed.tags} == {platform}

    @pytest.mark.parametrize(
        "platform",
        [
            "win_ia64", "macosx_11_1_arm64", "macosx_16_0_arm64", "macosx_10_9_sparc", "manylinux_2_17_mips",
            "musllinux_1_2_ppc64", "android_21_mips", "ios_13_0_arm64_watchos", "pyemscripten_2025_0_wasm64",
            "freebsd_14_0_amd64", "cygwin_x86_64",
        ],
    )  # fmt: skip
    def test_whl6_unsupported_platform_is_refused(self, platform: str) -> None:
        message = refused(f"demo-1.0-py3-none-{platform}.whl")
        assert f"platform tag {platform!r} is not supported" in message
        assert "allowed platform tags are" in message

    def test_whl6_plain_linux_is_refused_on_a_public_index(self) -> None:
        message = refused("demo-1.0-cp312-cp312-linux_x86_64.whl")
        assert "'linux_x86_64' is not allowed on this index" in message
        assert "auditwheel" in message

    def test_whl6_plain_linux_is_accepted_when_policy_allows_it(self) -> None:
        parsed = parse("demo-1.0-cp312-cp312-linux_x86_64.whl", allow_linux_platform=True)
        assert parsed.tags == frozenset({Tag("cp312", "cp312", "linux_x86_64")})  # type: ignore[attr-defined]


class TestSdistFilename:
    """SD-1: exactly ``{normalised name with _}-{normalised version}.tar.gz``."""

    def test_sd1_valid_sdist_is_parsed(self) -> None:
        parsed = parse_distribution_filename("foo_bar-1.0.tar.gz", policy=POLICY)
        assert parsed.packagetype == "sdist"
        assert parsed.normalized_name == "foo-bar"
        assert parsed.version == Version("1.0")
        assert parsed.python_tag == "source"
        assert parsed.tags == frozenset()

    @pytest.mark.parametrize("filename", ["Foo-Bar-1.0.tar.gz", "foo-bar-1.0.tar.gz", "Foo_Bar-1.0.tar.gz"])
    def test_sd1_unnormalised_name_is_refused(self, filename: str) -> None:
        assert "i.e. 'foo_bar-1.0.tar.gz'" in refused(filename)

    def test_sd1_unnormalised_version_is_refused(self) -> None:
        assert "it must be written '1.0'" in refused("foo_bar-1.00.tar.gz")

    def test_sd1_invalid_version_is_refused(self) -> None:
        assert "'latest' is not a PEP 440 version" in refused("demo-latest.tar.gz")

    def test_sd1_missing_name_is_refused(self) -> None:
        assert "expected {name}-{version}.tar.gz" in refused("-1.0.tar.gz")

    @pytest.mark.parametrize("extension", [".zip", ".tar.bz2", ".tgz", ".egg", ".exe", ".tar.xz", ".msi", ".rpm"])
    def test_sd1_legacy_formats_are_refused(self, extension: str) -> None:
        message = refused(f"demo-1.0{extension}")
        assert f"{extension} files are not accepted" in message
        assert "a wheel (.whl) or a source distribution (.tar.gz)" in message

    def test_sd1_unknown_extension_is_refused(self) -> None:
        assert "unsupported file type" in refused("demo-1.0.pdf")

    def test_sd1_upper_case_extension_is_refused(self) -> None:
        assert "must be lower-case" in refused("demo-1.0.TAR.GZ")


class TestLocalVersions:
    """VER-4: local version labels are refused unless the deployment allows them."""

    @pytest.mark.parametrize("filename", ["demo-1.0+abc-py3-none-any.whl", "demo-1.0+abc.tar.gz"])
    def test_ver4_local_version_is_refused(self, filename: str) -> None:
        message = refused(filename)
        assert "local versions ('+abc') are not allowed" in message
        assert "'1.0'" in message

    def test_ver4_local_version_is_accepted_when_policy_allows_it(self) -> None:
        parsed = parse("demo-1.0+abc-py3-none-any.whl", allow_local_versions=True)
        assert str(parsed.version) == "1.0+abc"  # type: ignore[attr-defined]


class TestFilenameCharacters:
    """POL-5 and safety: base names of printable ASCII, bounded length."""

    def test_empty_filename_is_refused(self) -> None:
        assert "filename is empty" in refused("")

    @pytest.mark.parametrize("filename", ["dist/demo-1.0.tar.gz", "..\\demo-1.0.tar.gz"])
    def test_path_separator_is_refused(self, filename: str) -> None:
        assert "contains a path separator" in refused(filename)

    @pytest.mark.parametrize(
        "filename", ["demo-1.0\n.tar.gz", "demo-1.0\x00.tar.gz", "démo-1.0.tar.gz", "de mo-1.0.tar.gz"]
    )
    def test_non_printable_or_non_ascii_is_refused(self, filename: str) -> None:
        assert "printable ASCII" in refused(filename)

    def test_pol5_overlong_filename_is_refused(self) -> None:
        filename = "demo-1.0-py3-none-" + ".".join(["macosx_10_9_x86_64"] * 10) + ".whl"
        message = refused(filename, max_filename_length=100)
        assert f"it is {len(filename)} characters long" in message
        assert "at most 100" in message


class TestCheckFiletype:
    """UPL-4: ``filetype`` in the allowed set and consistent with the extension; the ``pyversion`` rule."""

    WHEEL = parse_distribution_filename("demo-1.0-py2.py3-none-any.whl", policy=POLICY)
    SDIST = parse_distribution_filename("demo-1.0.tar.gz", policy=POLICY)

    def test_upl4_wheel_with_its_python_tag_is_accepted(self) -> None:
        check_filetype(self.WHEEL, filetype="bdist_wheel", pyversion="py2.py3")

    @pytest.mark.parametrize("pyversion", [None, "", "source"])
    def test_upl4_sdist_with_source_or_no_pyversion_is_accepted(self, pyversion: str | None) -> None:
        check_filetype(self.SDIST, filetype="sdist", pyversion=pyversion)

    @pytest.mark.parametrize("filetype", ["bdist_egg", "bdist_wininst", "bdist_dumb", ""])
    def test_upl4_unknown_filetype_is_refused(self, filetype: str) -> None:
        with pytest.raises(InvalidFormError, match="accepts only 'bdist_wheel'"):
            check_filetype(self.WHEEL, filetype=filetype, pyversion="py3")

    def test_upl4_filetype_disagreeing_with_extension_is_refused(self) -> None:
        with pytest.raises(InvalidFormError, match="must be uploaded with filetype='bdist_wheel'"):
            check_filetype(self.WHEEL, filetype="sdist", pyversion="source")

    def test_upl4_wheel_pyversion_must_be_the_python_tag(self) -> None:
        with pytest.raises(InvalidFormError, match="send the python tag from the filename, 'py2.py3'"):
            check_filetype(self.WHEEL, filetype="bdist_wheel", pyversion="py3")

    def test_upl4_wheel_without_pyversion_is_refused(self) -> None:
        with pytest.raises(InvalidFormError, match="pyversion None"):
            check_filetype(self.WHEEL, filetype="bdist_wheel", pyversion=None)

    def test_upl4_sdist_with_a_python_tag_is_refused(self) -> None:
        with pytest.raises(InvalidFormError, match="pyversion must be 'source'"):
            check_filetype(self.SDIST, filetype="sdist", pyversion="py3")
