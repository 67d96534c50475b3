"""The ``wheelhouse`` console script: one subcommand per module, loaded lazily so
``--help`` is instant (STYLE §13)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "serve": "services.cli.serve",
    "serve-service": "services.cli.serve",
    "db": "services.cli.db",
    "users": "services.cli.users",
    "tokens": "services.cli.tokens",
    "worker": "services.cli.worker",
    "search": "services.cli.search",
    "stack": "services.cli.stack",
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (default ./data, or WHEELHOUSE_DATA_DIR)")
    parser.add_argument("--database-url", help="database URL (default: SQLite in the data dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wheelhouse", description="A PyPI-compatible package index.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run every service in one process on the embedded defaults")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")

    one = sub.add_parser("serve-service", help="run one service (upload, simple, search, accounts)")
    one.add_argument("service", choices=["upload", "simple", "search", "accounts"])
    _common(one)
    one.add_argument("--host")
    one.add_argument("--port", type=int)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="action", required=True)
    for action in ("upgrade", "current"):
        _common(db_sub.add_parser(action))
    wait = db_sub.add_parser("wait", help="wait until the schema is at this release's migrations (exit 1 on timeout)")
    wait.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    wait.add_argument("--interval", type=float, default=2.0, help="seconds between checks (default 2)")
    _common(wait)
    down = db_sub.add_parser("downgrade")
    down.add_argument("revision")
    _common(down)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="action", required=True)
    create = users_sub.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.add_argument("--admin", action="store_true")
    create.add_argument("--email-verified", action="store_true",
                        help="mark the address verified (when the index requires it to upload)")
    _common(create)
    setpw = users_sub.add_parser("set-password", help="set a user's password (read from standard input)")
    setpw.add_argument("username")
    _common(setpw)
    deactivate = users_sub.add_parser("deactivate", help="deactivate a user: sessions end, tokens stop working")
    deactivate.add_argument("username")
    _common(deactivate)

    tokens = sub.add_parser("tokens", help="manage API tokens")
    tokens_sub = tokens.add_subparsers(dest="action", required=True)
    tcreate = tokens_sub.add_parser("create", help="create a token and print it (only) on stdout")
    tcreate.add_argument("--user", required=True)
    tcreate.add_argument("--project", action="append", help="limit the token to this project (repeatable)")
    tcreate.add_argument("--expires-in", help="lifetime such as 30d, 12h, 2w")
    tcreate.add_argument("--name", default="", help="a label for the token")
    _common(tcreate)
    revoke = tokens_sub.add_parser("revoke", help="revoke a token by its id or its secret")
    revoke.add_argument("token")
    _common(revoke)
    tlist = tokens_sub.add_parser("list", help="list a user's tokens (never the secret)")
    tlist.add_argument("--user", required=True)
    _common(tlist)
    restrict = tokens_sub.add_parser(
        "restrict", help="narrow a token offline (fewer projects, shorter life) and print the new token")
    restrict.add_argument("token", help="the token to narrow, or - to read it from standard input")
    restrict.add_argument("--project", action="append", help="allow only this project (repeatable)")
    restrict.add_argument("--expires-in", help="stop working after this long, such as 1h or 7d")

    worker = sub.add_parser("worker", help="consumers of the journal")
    worker_sub = worker.add_subparsers(dest="action", required=True)
    _common(worker_sub.add_parser("status", help="each consumer's position, lag and dead letters"))
    _common(worker_sub.add_parser("search-indexer", help="keep the search index in step with the journal"))
    _common(worker_sub.add_parser("relay", help="publish the journal to NATS JetStream (WHEELHOUSE_BUS=nats)"))
    _common(worker_sub.add_parser("purger", help="purge what each change affects from the edge caches"))
    rewind = worker_sub.add_parser("rewind", help="move a stopped consumer's cursor back, to handle the journal again")
    _common(rewind)
    rewind.add_argument("consumer", help="the consumer's name, as `worker status` lists it")
    rewind.add_argument("--to", type=int, default=0, metavar="SERIAL",
                        help="handle everything after this serial again (default 0: the whole journal)")

    stack = sub.add_parser("stack", help="the local stack: each service and worker its own process, behind Varnish")
    stack_sub = stack.add_subparsers(dest="action", required=True)
    up = stack_sub.add_parser("up", help="start it and keep it running until Ctrl-C")
    up.add_argument("--port", type=int, default=8080, help="the edge's port (default 8080)")
    up.add_argument("--data-dir", default="stack", help="logs, NATS's store and the stack's key (default ./stack)")
    up.add_argument("--database-url", default=None,
                    help="Postgres to use; the database is created if missing "
                         "(default postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_stack)")
    up.add_argument("--s3-endpoint-url", default=None, help="an S3-compatible endpoint (default: moto's server)")

    search = sub.add_parser("search", help="the search index")
    search_sub = search.add_subparsers(dest="action", required=True)
    _common(search_sub.add_parser("reindex", help="rebuild the search index from the database"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
