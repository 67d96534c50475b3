"""``wheelhouse serve`` (everything in one process) and ``wheelhouse serve-service NAME``."""

from __future__ import annotations

import argparse

from services.cli.settings import settings_from_args
from shared import migrations
from shared.config import AccountsSettings, SharedSettings, SimpleSettings, UploadSettings
from shared.web.runner import run_app


def run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve_all(args)
    return _serve_one(args)


def _serve_all(args: argparse.Namespace) -> int:
    from services.all_in_one import create_app

    settings = settings_from_args(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.database_url)  # the embedded default migrates on start
    run_app(create_app(settings, workers=True), settings, service="all-in-one")
    return 0


def _serve_one(args: argparse.Namespace) -> int:
    from services.accounts.app import create_app as accounts
    from services.search.app import create_app as search
    from services.simple.app import create_app as simple
    from services.upload.app import create_app as upload

    factories = {"upload": (upload, UploadSettings), "simple": (simple, SimpleSettings),
                 "search": (search, SharedSettings), "accounts": (accounts, AccountsSettings)}
    create_app, settings_cls = factories[args.service]
    settings = settings_from_args(args, settings_cls)
    run_app(create_app(settings), settings, service=args.service)
    return 0
