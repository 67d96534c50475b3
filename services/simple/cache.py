"""A small in-process cache of rendered pages, keyed by what makes them change.

Every change to a project moves its ``last_serial`` (MIR-2), so a rendered page
keyed by (project, serial, media type) can never be stale; the cache only saves
re-rendering a large page on every edge miss.  It is bounded by total bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class RenderCache:
    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._items[key] = body
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)
