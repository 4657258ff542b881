"""ReplayCache: entries expire on their own time and memory stays bounded."""

from __future__ import annotations

import pytest

from sunmi_face_async.webhook import ReplayCache


def test_add_reports_new_and_known_keys() -> None:
    cache = ReplayCache()
    assert cache.add("a", expires_at=100, now=0) is True
    assert cache.add("a", expires_at=100, now=50) is False
    assert cache.contains("a", now=100)
    assert len(cache) == 1


def test_entries_expire_at_their_own_time() -> None:
    cache = ReplayCache()
    cache.add("short", expires_at=10, now=0)
    cache.add("long", expires_at=1000, now=0)
    assert not cache.contains("short", now=11)
    assert cache.contains("long", now=11)
    assert len(cache) == 1
    assert cache.add("short", expires_at=30, now=11) is True


def test_re_adding_extends_the_expiry() -> None:
    cache = ReplayCache()
    cache.add("k", expires_at=10, now=0)
    assert cache.add("k", expires_at=50, now=5) is False
    assert cache.contains("k", now=40)
    assert not cache.contains("k", now=51)


def test_full_cache_forgets_the_entry_closest_to_expiry() -> None:
    cache = ReplayCache(max_entries=3)
    for key, expiry in [("b", 20), ("a", 10), ("c", 30), ("d", 40)]:
        cache.add(key, expires_at=expiry, now=0)
    assert len(cache) == 3
    assert [k for k in "abcd" if cache.contains(k, now=0)] == ["b", "c", "d"]


def test_memory_stays_bounded_under_churn() -> None:
    cache = ReplayCache(max_entries=100)
    for i in range(20_000):
        cache.add(("k", i % 150), expires_at=i + 1_000, now=i)
    assert len(cache) == 100
    assert len(cache._heap) <= 2 * 100 + 64


def test_discard_forgets_a_key() -> None:
    cache = ReplayCache()
    cache.add("k", expires_at=10, now=0)
    cache.discard("k")
    assert not cache.contains("k", now=0)
    assert cache.add("k", expires_at=10, now=0) is True


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ReplayCache(max_entries=0)
