"""Replay caches: entries expire on their own time, and an unexpired one is never forgotten.

Every test runs on the in-memory ReplayCache and on SqliteReplayCache alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sunmi_face_async.errors import SunmiError
from sunmi_face_async.webhook import (
    ReplayCache,
    ReplayCacheError,
    ReplayCacheFullError,
    ReplayStore,
    SqliteReplayCache,
)

MakeStore = Callable[..., ReplayStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    def make(max_entries: int = 100_000) -> ReplayStore:
        if request.param == "memory":
            return ReplayCache(max_entries)
        return SqliteReplayCache(tmp_path / "replay.sqlite", max_entries=max_entries)

    return make


def test_add_reports_new_and_known_keys(make_store: MakeStore) -> None:
    cache = make_store()
    assert cache.add("a", expires_at=100, now=0) is True
    assert cache.add("a", expires_at=100, now=50) is False
    assert cache.contains("a", now=100)
    assert not cache.contains("b", now=0)


def test_entries_expire_at_their_own_time(make_store: MakeStore) -> None:
    cache = make_store()
    cache.add("short", expires_at=10, now=0)
    cache.add("long", expires_at=1000, now=0)
    assert not cache.contains("short", now=11)
    assert cache.contains("long", now=11)
    assert cache.add("short", expires_at=30, now=11) is True


def test_re_adding_extends_the_expiry(make_store: MakeStore) -> None:
    cache = make_store()
    cache.add("k", expires_at=10, now=0)
    assert cache.add("k", expires_at=50, now=5) is False
    assert cache.contains("k", now=40)
    assert not cache.contains("k", now=51)


def test_full_cache_refuses_new_keys_and_forgets_no_unexpired_one(make_store: MakeStore) -> None:
    cache = make_store(max_entries=3)
    for key, expiry in [("b", 20), ("a", 10), ("c", 30)]:
        assert cache.add(key, expires_at=expiry, now=0) is True
    with pytest.raises(ReplayCacheFullError) as refused:
        cache.add("d", expires_at=40, now=2)
    assert refused.value.retry_after == 8  # "a" expires at 10
    assert "max_entries=3" in str(refused.value)
    assert isinstance(refused.value, SunmiError)
    # Every replay of an unexpired key is still recognised, full or not.
    assert [cache.add(k, expires_at=5, now=2) for k in "abc"] == [False, False, False]
    with pytest.raises(ReplayCacheFullError):
        cache.claim("d", lease_until=40, now=2)
    # Once "a" expires there is room for exactly one more.
    assert cache.add("d", expires_at=40, now=11) is True
    assert [k for k in "abcd" if cache.contains(k, now=11)] == ["b", "c", "d"]
    with pytest.raises(ReplayCacheFullError) as again:
        cache.add("e", expires_at=40, now=11)
    assert again.value.retry_after == 9  # "b" expires at 20


def test_retry_after_is_at_least_a_second(make_store: MakeStore) -> None:
    cache = make_store(max_entries=1)
    cache.add("a", expires_at=10.2, now=0)
    with pytest.raises(ReplayCacheFullError) as refused:
        cache.add("b", expires_at=40, now=10.1)
    assert refused.value.retry_after == 1


def test_memory_stays_bounded_under_churn() -> None:
    cache = ReplayCache(max_entries=100)
    for i in range(20_000):
        cache.add(("k", i), expires_at=i + 99.5, now=i)
        assert cache.add(("k", i), expires_at=i + 99.5, now=i) is False
    assert len(cache) == 100
    assert len(cache._heap) <= 2 * 100 + 64


def test_claim_then_confirm_or_discard(make_store: MakeStore) -> None:
    cache = make_store()
    assert cache.claim("k", lease_until=60, now=0) == "new"
    assert cache.claim("k", lease_until=60, now=1) == "pending"
    cache.confirm("k", expires_at=900, now=2)
    assert cache.claim("k", lease_until=60, now=100) == "done"
    assert cache.contains("k", now=900)
    assert not cache.contains("k", now=901)
    assert cache.claim("other", lease_until=60, now=0) == "new"
    cache.discard("other")
    assert cache.claim("other", lease_until=60, now=0) == "new"


def test_a_claim_runs_out_after_its_lease(make_store: MakeStore) -> None:
    cache = make_store()
    assert cache.claim("k", lease_until=60, now=0) == "new"
    assert cache.claim("k", lease_until=120, now=61) == "new"


def test_confirming_a_claim_needs_no_new_room(make_store: MakeStore) -> None:
    cache = make_store(max_entries=2)
    cache.claim("a", lease_until=60, now=0)
    cache.claim("b", lease_until=60, now=0)
    cache.confirm("a", expires_at=900, now=1)
    cache.confirm("b", expires_at=900, now=1)
    assert cache.claim("a", lease_until=60, now=2) == "done"
    with pytest.raises(ReplayCacheFullError):
        cache.claim("c", lease_until=60, now=2)


def test_discard_forgets_a_key(make_store: MakeStore) -> None:
    cache = make_store()
    cache.add("k", expires_at=10, now=0)
    cache.discard("k")
    assert not cache.contains("k", now=0)
    assert cache.add("k", expires_at=10, now=0) is True


def test_capacity_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ReplayCache(max_entries=0)
    with pytest.raises(ValueError, match="max_entries"):
        SqliteReplayCache(tmp_path / "r.sqlite", max_entries=0)


def test_sqlite_entries_survive_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite"
    SqliteReplayCache(path).add(("delivery", "1", "abc"), expires_at=100, now=0)
    reopened = SqliteReplayCache(path)
    assert reopened.add(("delivery", "1", "abc"), expires_at=100, now=50) is False
    assert len(reopened) == 0  # len counts what is unexpired now, long after 100


def test_sqlite_keys_must_be_text_numbers_or_tuples(tmp_path: Path) -> None:
    cache = SqliteReplayCache(tmp_path / "replay.sqlite")
    with pytest.raises(TypeError, match="frozenset"):
        cache.add(frozenset({"a"}), expires_at=10, now=0)


def test_sqlite_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is not an SQLite file, just some text " * 100)
    with pytest.raises(ReplayCacheError) as refused:
        SqliteReplayCache(path)
    assert str(path) in str(refused.value)
    assert "not a database" in str(refused.value)
    assert isinstance(refused.value.__cause__, sqlite3.DatabaseError)


def test_sqlite_lock_held_by_another_process_ends_in_a_bounded_error(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite"
    cache = SqliteReplayCache(path, timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(ReplayCacheError) as refused:
            cache.add("k", expires_at=10, now=0)
    finally:
        other.close()
    assert "locked" in str(refused.value)
    assert not isinstance(refused.value, ReplayCacheFullError)
    assert cache.add("k", expires_at=10, now=0) is True


def test_sqlite_claims_from_many_threads_give_one_new(tmp_path: Path) -> None:
    cache = SqliteReplayCache(tmp_path / "replay.sqlite")
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: cache.claim("k", lease_until=60, now=0), range(32)))
    assert sorted(claims) == ["new"] + ["pending"] * 31
    cache.close()


def test_sqlite_cache_closes_and_opens_again(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite"
    with SqliteReplayCache(path) as cache:
        cache.add("k", expires_at=10, now=0)
    assert cache.add("k", expires_at=10, now=0) is False  # reopened on use
    cache.close()
