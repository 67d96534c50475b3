"""``wheelhouse db upgrade | downgrade REV | current``."""

from __future__ import annotations

import argparse

from services.cli.settings import settings_from_args
from shared import migrations


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.action == "upgrade":
        migrations.upgrade(settings.database_url)
    elif args.action == "downgrade":
        migrations.downgrade(settings.database_url, args.revision)
    else:
        migrations.current(settings.database_url)
    return 0
