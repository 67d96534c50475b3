from __future__ import annotations

from services.simple.cache import RenderCache


class TestRenderCache:
    def test_hit_and_miss(self) -> None:
        cache = RenderCache(max_bytes=100)
        assert cache.get("a") is None
        cache.put("a", b"x" * 10)
        assert cache.get("a") == b"x" * 10

    def test_evicts_least_recently_used_past_the_byte_budget(self) -> None:
        cache = RenderCache(max_bytes=25)
        cache.put("a", b"a" * 10)
        cache.put("b", b"b" * 10)
        cache.get("a")  # a is now the most recent
        cache.put("c", b"c" * 10)
        assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
        assert len(cache) == 2

    def test_replacing_a_key_keeps_the_accounting_right(self) -> None:
        cache = RenderCache(max_bytes=20)
        cache.put("a", b"a" * 15)
        cache.put("a", b"a" * 5)
        cache.put("b", b"b" * 15)
        assert cache.get("a") == b"a" * 5 and cache.get("b") == b"b" * 15

    def test_a_body_larger_than_the_budget_is_not_kept(self) -> None:
        cache = RenderCache(max_bytes=10)
        cache.put("big", b"x" * 11)
        assert cache.get("big") is None and len(cache) == 0
