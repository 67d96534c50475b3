"""``wheelhouse stack up``: the local stack (``shared/edge/stack.py``) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from shared.edge.stack import DEFAULT_DATABASE_URL, Stack


def run(args: argparse.Namespace) -> int:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stack = Stack(Path(args.data_dir).resolve(), port=args.port, database_url=args.database_url or DEFAULT_DATABASE_URL,
                  s3_endpoint_url=args.s3_endpoint_url)
    try:
        with stack:
            print(f"Wheelhouse stack at {stack.url}/ (simple index {stack.url}/simple/, uploads {stack.url}/legacy/)")
            print(f"processes: {', '.join(p.name for p in stack.processes)}, varnishd; logs in {stack.data_dir / 'logs'}")
            print("Ctrl-C to stop.", flush=True)
            stopping.wait()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
