"""License, License-Expression and License-File (STANDARDS §15 CMD-8)."""

from __future__ import annotations

import re

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from services.upload.errors import InvalidMetadataError
from services.upload.validation.metadata.messages import invalid
from services.upload.validation.metadata.spec import Fields


def check_license(fields: Fields) -> None:
    """CMD-8: License and License-Expression are mutually exclusive."""
    if "license" in fields and "license_expression" in fields:
        raise InvalidMetadataError(
            "Invalid License: License cannot be combined with License-Expression; remove the "
            "License field (in pyproject.toml use only 'license = \"<SPDX expression>\"')."
        )


def check_license_expression(value: str | None) -> str | None:
    """CMD-8: a valid SPDX expression, stored in its case-normalised form."""
    if value is None:
        return None
    try:
        return str(canonicalize_license_expression(value))
    except InvalidLicenseExpression as exc:
        raise invalid(
            "License-Expression",
            value,
            f"not a valid SPDX license expression ({exc})",
            "use SPDX identifiers such as 'MIT OR Apache-2.0' (https://spdx.org/licenses/) or 'LicenseRef-<name>'",
        ) from exc


def check_license_files(values: list[str]) -> list[str]:
    """CMD-8: License-File paths are relative, resolved, use ``/`` and contain no ``..``."""
    for value in values:
        problem = _license_path_problem(value)
        if problem:
            raise invalid(
                "License-File",
                value,
                problem,
                "give the path relative to the project root, e.g. 'LICENSES/MIT.txt'",
            )
    return list(values)


def _license_path_problem(path: str) -> str | None:
    """CMD-8: what is wrong with one License-File path, if anything."""
    if not path.strip():
        return "the path is empty"
    if "\\" in path:
        return "paths must use '/' as the separator"
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "paths must be relative"
    if ".." in path:
        return "paths must not contain '..'"
    if any(c in path for c in "*?["):
        return "glob patterns must be resolved to file paths"
    return None
