"""Running the validators the way the upload service does, for the archive tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.upload.errors import InvalidArchiveError
from services.upload.validation import inspect_distribution
from services.upload.validation.types import InspectedDistribution, ValidationPolicy

POLICY = ValidationPolicy()


def inspect(path: Path, policy: ValidationPolicy = POLICY) -> InspectedDistribution:
    return inspect_distribution(path, path.name, policy=policy)


def refused(path: Path, policy: ValidationPolicy = POLICY, error: type[Exception] = InvalidArchiveError) -> str:
    """The message of the expected rejection."""
    with pytest.raises(error) as info:
        inspect(path, policy)
    return str(info.value)
