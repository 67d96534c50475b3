"""``wheelhouse users create | set-password | deactivate``."""

from __future__ import annotations

import argparse
import getpass
import sys

from services.accounts import service as accounts
from services.cli._db import run_in_transaction
from services.cli.settings import settings_from_args


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise SystemExit("error: the passwords do not match")
    return first


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.action == "deactivate":
        async def work(session):  # noqa: ANN001, ANN202
            return await accounts.deactivate_user(session, args.username, actor="wheelhouse users deactivate")
        done = "deactivated"
    elif args.action == "create":
        password = _read_password(args.password_stdin)

        async def work(session):  # noqa: ANN001, ANN202
            return await accounts.create_user(session, args.username, email=args.email, password=password,
                                              is_superuser=args.admin, email_verified=args.email_verified)
        done = "created"
    else:
        password = _read_password(False)

        async def work(session):  # noqa: ANN001, ANN202
            await accounts.set_password(session, args.username, password=password)
            return True
        done = "updated"
    if run_in_transaction(settings, work) is None:
        return 1
    print(f"user {args.username!r} {done}", file=sys.stderr)
    return 0
