"""Settings for CLI commands: the environment, then the command-line overrides."""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from shared.config import ServeSettings, SharedSettings

S = TypeVar("S", bound=SharedSettings)


def settings_from_args(args: argparse.Namespace, cls: type[S] = ServeSettings) -> S:  # type: ignore[assignment]
    overrides: dict[str, Any] = {}
    for option in ("data_dir", "database_url", "host", "port"):
        value = getattr(args, option, None)
        if value is not None:
            overrides[option] = value
    return cls(**overrides)
