"""``wheelhouse tokens create | revoke | list | restrict``; ``create`` and ``restrict`` print only the token."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from services.accounts import service as accounts
from services.cli._db import run_in_transaction
from services.cli.settings import settings_from_args
from shared.auth import macaroons
from shared.auth.keys import load_secret_keys
from shared.auth.tokens import parse_duration


def run(args: argparse.Namespace) -> int:
    if args.action == "restrict":
        return _restrict(args)
    settings = settings_from_args(args)
    handlers = {"create": _create, "revoke": _revoke, "list": _list}
    return handlers[args.action](args, settings)


def _duration(text: str | None):  # noqa: ANN202
    return parse_duration(text) if text else None


def _create(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    try:
        expires_in = _duration(args.expires_in)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keys = load_secret_keys(settings)
    created = run_in_transaction(settings, lambda s: accounts.create_token(
        s, args.user, keys=keys, name=args.name, projects=args.project, expires_in=expires_in))
    if created is None:
        return 1
    print(created.secret)
    return 0


def _restrict(args: argparse.Namespace) -> int:
    """Narrow a token offline: no server, no database; the result works only where both allow."""
    token = args.token if args.token != "-" else sys.stdin.readline().strip()
    try:
        expires_in = _duration(args.expires_in)
        expires_at = datetime.now(UTC) + expires_in if expires_in else None
        narrowed = macaroons.restrict(token, projects=args.project, expires_at=expires_at)
    except (ValueError, macaroons.MalformedTokenError, macaroons.CaveatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(narrowed)
    return 0


def _revoke(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    token = run_in_transaction(settings, lambda s: accounts.revoke_token(s, args.token))
    if token is None:
        return 1
    print(f"token {token.id} revoked", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    tokens = run_in_transaction(settings, lambda s: accounts.list_tokens(s, args.user))
    if tokens is None:
        return 1
    for t in tokens:
        scope = ",".join(t.projects) if t.projects else "all projects"
        state = "revoked" if t.revoked_at else (f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "active")
        print(f"{t.id}\t{t.name or '-'}\t{scope}\t{state}")
    return 0
