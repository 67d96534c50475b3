"""Error messages for core metadata (UPL-11: twine prints them verbatim)."""

from __future__ import annotations

from services.upload.errors import InvalidMetadataError


def invalid(header: str, value: str, problem: str, fix: str) -> InvalidMetadataError:
    """``Invalid <Field> '<value>': <problem>; <fix>.`` (UPL-11)."""
    return InvalidMetadataError(f"Invalid {header} {show(value)}: {problem}; {fix}.", details={"field": header})


def invalid_field(header: str, problem: str, fix: str) -> InvalidMetadataError:
    """``Invalid field '<Field>': <problem>; <fix>.`` for problems with the field itself."""
    return InvalidMetadataError(f"Invalid field {header!r}: {problem}; {fix}.", details={"field": header})


def show(value: str, *, limit: int = 80) -> str:
    """``repr`` of a value, shortened for a one-line message."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
