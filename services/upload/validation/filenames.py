"""Distribution filename rules for new uploads.

Covers WHL-1 (wheel filename grammar), WHL-2 (escaped normalised name), WHL-3 (normalised
version spelling; the filename/METADATA comparison lives in
:func:`check_metadata_matches_filename`), WHL-4 (build tag), WHL-5 (compressed tag sets,
any order), WHL-6 (platform allow-list), SD-1 (``{name}-{version}.tar.gz`` only), VER-4
(local versions), POL-5 (filename length) and UPL-4 (``filetype``/``pyversion`` agree with
the filename). Every message says what is wrong and how to fix it: twine prints it.
"""

from __future__ import annotations

import re

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from services.upload.errors import InvalidFilenameError, InvalidFormError, MetadataMismatchError
from services.upload.validation.types import CoreMetadata, ParsedFilename, ValidationPolicy
from shared.names import is_valid_name, normalize_name

WHEEL_FORMAT = "{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl"
SDIST_FORMAT = "{name}-{version}.tar.gz"
_ALLOWED_FORMS = "a wheel (.whl) or a source distribution (.tar.gz); build both with `python -m build`"
_REFUSED_EXTENSIONS = (
    ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.Z", ".tar", ".tgz", ".tbz2", ".zip",
    ".egg", ".exe", ".msi", ".rpm", ".deb", ".dmg", ".pkg",
)  # fmt: skip
_FILETYPE_EXTENSIONS: dict[str, str] = {"bdist_wheel": ".whl", "sdist": ".tar.gz"}

# WHL-6, exactly as STANDARDS lists it.
_FIXED_PLATFORMS = frozenset({"any", "win32", "win_amd64", "win_arm64", "linux_armv6l", "linux_armv7l"})
_LINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})
_MANYLINUX_ARCHES = _LINUX_ARCHES | {"ppc64"}
_MACOS_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat32", "fat64", "universal", "universal2"}
)
_ANDROID_ABIS = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})
_MACOS_RE = re.compile(r"macosx_(\d+)_(\d+)_(\w+)\Z", re.ASCII)
_LEGACY_MANYLINUX_RE = re.compile(r"manylinux(?:1|2010|2014)_(\w+)\Z", re.ASCII)
_PEP600_RE = re.compile(r"(many|musl)linux_\d+_\d+_(\w+)\Z", re.ASCII)
_ANDROID_RE = re.compile(r"android_\d+_(\w+)\Z", re.ASCII)
_IOS_RE = re.compile(r"ios_\d+_\d+_(arm64|x86_64)_(iphoneos|iphonesimulator)\Z", re.ASCII)
_EMSCRIPTEN_RE = re.compile(r"pyemscripten_\d+_\d+_wasm32\Z", re.ASCII)
_LINUX_RE = re.compile(r"linux_\w+\Z", re.ASCII)
_PLATFORM_HINT = (
    "allowed platform tags are any, win32, win_amd64, win_arm64, macosx_10_*_{arch}, macosx_{11-15,26+}_0_{arch}, "
    "manylinux*, musllinux_*, android_*, ios_* and pyemscripten_*_wasm32"
)


def parse_distribution_filename(filename: str, *, policy: ValidationPolicy) -> ParsedFilename:
    """Parse and validate an uploaded distribution's filename (WHL-1..6, SD-1, VER-4, POL-5)."""
    _check_characters(filename, policy=policy)
    if filename.endswith(".whl"):
        parsed = _parse_wheel(filename, policy=policy)
    elif filename.endswith(".tar.gz"):
        parsed = _parse_sdist(filename)
    else:
        raise InvalidFilenameError(_unsupported_extension_message(filename))
    _check_local_version(parsed, policy=policy)
    return parsed


def check_filetype(parsed: ParsedFilename, *, filetype: str, pyversion: str | None) -> None:
    """UPL-4: the form's ``filetype`` and ``pyversion`` must agree with the filename."""
    if filetype not in _FILETYPE_EXTENSIONS:
        raise InvalidFormError(
            f"Invalid filetype {filetype!r}: the index accepts only 'bdist_wheel' (for .whl files) "
            "and 'sdist' (for .tar.gz files); upload with a current twine"
        )
    if filetype != parsed.packagetype:
        extension = _FILETYPE_EXTENSIONS[parsed.packagetype]
        raise InvalidFormError(
            f"filetype {filetype!r} does not match {parsed.filename!r}: a {extension} file must be "
            f"uploaded with filetype={parsed.packagetype!r}"
        )
    _check_pyversion(parsed, pyversion=pyversion or None)


def check_metadata_matches_filename(metadata: CoreMetadata, parsed: ParsedFilename, *, member: str) -> None:
    """WHL-3, WHL-9, SD-4: the archive's Name (NAM-1) and Version (PEP 440) equal the filename's."""
    if normalize_name(metadata.name) != parsed.normalized_name:
        raise MetadataMismatchError(
            f"{member} says Name {metadata.name!r} but the filename {parsed.filename!r} is for project "
            f"{parsed.normalized_name!r}; rebuild the distribution so that the filename and metadata agree"
        )
    if Version(metadata.version) != parsed.version:
        raise MetadataMismatchError(
            f"{member} says Version {metadata.version!r} but the filename {parsed.filename!r} has version "
            f"{str(parsed.version)!r}; rebuild the distribution instead of renaming it"
        )


def _check_characters(filename: str, *, policy: ValidationPolicy) -> None:
    """Refuse empty, overlong (POL-5), path-like and non-printable-ASCII filenames."""
    if not filename:
        raise InvalidFilenameError(f"The distribution filename is empty; upload {_ALLOWED_FORMS}")
    if any(char in "/\\" for char in filename):
        raise InvalidFilenameError(
            f"Invalid filename {filename!r}: it contains a path separator; send only the file's base name"
        )
    if not filename.isascii() or not filename.isprintable() or " " in filename:
        raise InvalidFilenameError(
            f"Invalid filename {filename!r}: distribution filenames may only contain printable ASCII "
            "characters without spaces or control characters"
        )
    if len(filename) > policy.max_filename_length:
        raise InvalidFilenameError(
            f"Invalid filename {filename!r}: it is {len(filename)} characters long and the index accepts at "
            f"most {policy.max_filename_length}; use fewer compressed tags or a shorter build tag"
        )


def _unsupported_extension_message(filename: str) -> str:
    lowered = filename.lower()
    if lowered.endswith((".whl", ".tar.gz")):
        return f"Invalid filename {filename!r}: the extension must be lower-case ('.whl' or '.tar.gz')"
    refused = next((ext for ext in _REFUSED_EXTENSIONS if lowered.endswith(ext.lower())), None)
    if refused is not None:
        return f"Invalid filename {filename!r}: {refused} files are not accepted; upload {_ALLOWED_FORMS}"
    return f"Invalid filename {filename!r}: unsupported file type; upload {_ALLOWED_FORMS}"


def _check_local_version(parsed: ParsedFilename, *, policy: ValidationPolicy) -> None:
    """VER-4: local version labels are refused unless the deployment allows them."""
    if parsed.version.local is not None and not policy.allow_local_versions:
        raise InvalidFilenameError(
            f"Invalid filename {parsed.filename!r}: local versions ('+{parsed.version.local}') are not allowed "
            f"on this index; build with the public version {parsed.version.public!r}"
        )


def _parse_wheel(filename: str, *, policy: ValidationPolicy) -> ParsedFilename:
    """WHL-1..6."""
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise InvalidFilenameError(
            f"Invalid wheel filename {filename!r}: expected {WHEEL_FORMAT} "
            f"(5 or 6 '-'-separated parts, found {len(parts)})"
        )
    try:
        name, version, build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise InvalidFilenameError(
            f"Invalid wheel filename {filename!r}: expected {WHEEL_FORMAT}; {_wheel_failure_hint(parts)} ({exc})"
        ) from exc
    _check_wheel_name(filename, name_part=parts[0])
    _check_version_spelling(filename, version_part=parts[1], version=version)
    for tag in sorted(tags, key=str):
        _check_platform(filename, tag=tag, policy=policy)
    return ParsedFilename(
        filename=filename,
        packagetype="bdist_wheel",
        normalized_name=name,
        version=version,
        build_tag=build or None,
        tags=tags,
        python_tag=parts[-3],
    )


def _wheel_failure_hint(parts: list[str]) -> str:
    """Point at the part packaging refused (WHL-1, WHL-4)."""
    if len(parts) == 6 and not parts[2][:1].isdigit():
        return f"the build tag {parts[2]!r} must start with a digit"
    if not _is_version(parts[1]):
        return f"{parts[1]!r} is not a PEP 440 version"
    if "__" in parts[0] or not parts[0]:
        return f"the name part {parts[0]!r} is not a valid escaped project name"
    return "the name or one of the python/abi/platform tags is malformed"


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _check_wheel_name(filename: str, *, name_part: str) -> None:
    """WHL-2: the name part is the normalised name with ``-`` replaced by ``_`` (NAM-1, NAM-3)."""
    expected = normalize_name(name_part).replace("-", "_")
    if not is_valid_name(name_part):
        raise InvalidFilenameError(
            f"Invalid wheel filename {filename!r}: {name_part!r} is not a valid project name; names start and "
            "end with a letter or digit and contain only letters, digits, '.', '_' and '-'"
        )
    if name_part != expected:
        raise InvalidFilenameError(
            f"Invalid wheel filename {filename!r}: the name part must be the normalised project name with "
            f"'-' replaced by '_', i.e. {expected!r} instead of {name_part!r}; rebuild with a current build backend"
        )


def _check_version_spelling(filename: str, *, version_part: str, version: Version) -> None:
    """WHL-3, SD-1: the version is written in its normalised form, ``str(Version(v))`` (VER-3)."""
    if version_part != str(version):
        raise InvalidFilenameError(
            f"Invalid filename {filename!r}: the version {version_part!r} is not in normalised form; "
            f"it must be written {str(version)!r}. Rebuild with a current build backend"
        )


def _check_platform(filename: str, *, tag: Tag, policy: ValidationPolicy) -> None:
    """WHL-5, WHL-6: every platform of the expanded tag set must be allowed."""
    platform = tag.platform
    if _is_allowed_platform(platform):
        return
    if _LINUX_RE.match(platform):
        if policy.allow_linux_platform:
            return
        raise InvalidFilenameError(
            f"Invalid wheel filename {filename!r}: platform tag {platform!r} is not allowed on this index; "
            "repair the wheel with auditwheel into a manylinux or musllinux wheel (cibuildwheel does this)"
        )
    raise InvalidFilenameError(
        f"Invalid wheel filename {filename!r}: platform tag {platform!r} is not supported; {_PLATFORM_HINT}"
    )


def _is_allowed_platform(platform: str) -> bool:
    """WHL-6's allow-list (plain ``linux_*`` is decided by the caller)."""
    if platform in _FIXED_PLATFORMS or _IOS_RE.match(platform) or _EMSCRIPTEN_RE.match(platform):
        return True
    if match := _MACOS_RE.match(platform):
        return _is_macos_version(int(match[1]), int(match[2])) and match[3] in _MACOS_ARCHES
    if match := _LEGACY_MANYLINUX_RE.match(platform):
        return match[1] in _MANYLINUX_ARCHES
    if match := _PEP600_RE.match(platform):
        return match[2] in (_MANYLINUX_ARCHES if match[1] == "many" else _LINUX_ARCHES)
    if match := _ANDROID_RE.match(platform):
        return match[1] in _ANDROID_ABIS
    return False


def _is_macos_version(major: int, minor: int) -> bool:
    """``macosx_10_{y}`` or ``macosx_{x}_0`` with x in 11..15 or >= 26."""
    if major == 10:
        return True
    return minor == 0 and (11 <= major <= 15 or major >= 26)


def _parse_sdist(filename: str) -> ParsedFilename:
    """SD-1: exactly ``{normalised name with _}-{normalised version}.tar.gz``."""
    stem = filename[: -len(".tar.gz")]
    name_part, _, version_part = stem.rpartition("-")
    version = _parse_sdist_version(filename, version_part=version_part)
    expected = f"{normalize_name(name_part).replace('-', '_')}-{version}.tar.gz"
    if not name_part or not is_valid_name(name_part):
        raise InvalidFilenameError(
            f"Invalid sdist filename {filename!r}: expected {SDIST_FORMAT} with a valid project name"
        )
    if name_part != normalize_name(name_part).replace("-", "_"):
        raise InvalidFilenameError(
            f"Invalid sdist filename {filename!r}: expected {SDIST_FORMAT} with the normalised name "
            f"('-' replaced by '_'), i.e. {expected!r}; rebuild with a current build backend"
        )
    _check_version_spelling(filename, version_part=version_part, version=version)
    return ParsedFilename(
        filename=filename, packagetype="sdist", normalized_name=normalize_name(name_part), version=version
    )


def _parse_sdist_version(filename: str, *, version_part: str) -> Version:
    try:
        return Version(version_part)
    except InvalidVersion:
        raise InvalidFilenameError(
            f"Invalid sdist filename {filename!r}: expected {SDIST_FORMAT}; {version_part!r} is not a PEP 440 version"
        ) from None


def _check_pyversion(parsed: ParsedFilename, *, pyversion: str | None) -> None:
    """UPL-4: ``source`` (or nothing) for sdists, the filename's python tag for wheels."""
    if parsed.packagetype == "sdist":
        if pyversion not in (None, "source"):
            raise InvalidFormError(f"pyversion must be 'source' for the sdist {parsed.filename!r}, not {pyversion!r}")
        return
    if pyversion != parsed.python_tag:
        raise InvalidFormError(
            f"pyversion {pyversion!r} does not match the wheel {parsed.filename!r}: send the python tag "
            f"from the filename, {parsed.python_tag!r} (twine does this)"
        )
