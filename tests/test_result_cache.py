"""The result cache: lookups without requests, least-recently-used eviction at the size limit."""
from __future__ import annotations

import logging
import os
import time

import pytest

from pack_loader import pack_module

result_cache = pack_module("core.store.result_cache")
ResultCache = result_cache.ResultCache
GIB = 1024 ** 3


@pytest.fixture(autouse=True)
def no_pins(monkeypatch):
    """Start every test with nothing pinned by earlier tests of this process."""
    monkeypatch.setattr(result_cache, "_pinned", type(result_cache._pinned)())


def place(cache, request_id, size=1000, age_s=0.0):
    """A finished download last used ``age_s`` ago, as an earlier run left it (no eviction)."""
    dest = cache.prepare(request_id, f"https://files.example/{request_id}.mp4", cost_usd=0.84)
    dest.write_bytes(b"v" * size)
    when = time.time() - age_s
    os.utime(dest, (when, when))
    return dest


def put(cache, request_id, size=1000):
    """Store a video as a finished download does: then the cache evicts down to its limit."""
    place(cache, request_id, size)
    return cache.commit(request_id)


def names(cache):
    return sorted(p.stem for p in cache.directory.glob("*.mp4"))


def test_a_stored_video_is_found_with_what_the_api_said_about_it(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=GIB)
    assert cache.get("req-1") is None
    stored = put(cache, "req-1")
    found = cache.get("req-1")
    assert found.path == stored.path == tmp_path / "req-1.mp4" and found.path.read_bytes() == b"v" * 1000
    assert found.video_url == "https://files.example/req-1.mp4" and found.cost_usd == pytest.approx(0.84)


def test_a_video_without_its_description_is_still_found(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=GIB)
    put(cache, "req-1")
    (tmp_path / "req-1.json").unlink()  # as an older version could leave it
    found = cache.get("req-1")
    assert found.path.exists() and found.video_url is None and found.cost_usd is None


def test_a_video_whose_description_is_damaged_is_dropped_to_be_fetched_again(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=GIB)
    put(cache, "req-1")
    (tmp_path / "req-1.json").write_text("{not json")
    assert cache.get("req-1") is None and not (tmp_path / "req-1.mp4").exists()


def test_least_recently_used_videos_go_first_when_over_the_limit(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=3000)
    place(cache, "a", age_s=300)
    place(cache, "b", age_s=200)
    place(cache, "c", age_s=100)
    assert cache.evict() == [] and names(cache) == ["a", "b", "c"]  # exactly at the limit
    assert cache.get("a").path == tmp_path / "a.mp4"  # using "a" makes it the newest
    put(cache, "d")
    assert names(cache) == ["a", "c", "d"]
    assert not (tmp_path / "b.json").exists()  # its description went with it
    put(cache, "e", size=2000)
    assert names(cache) == ["d", "e"] and cache.total_bytes() == 3000  # "c", then "a" (used before "d")


def test_the_video_just_stored_is_kept_even_when_it_alone_is_over_the_limit(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=10)
    place(cache, "old", age_s=100)
    put(cache, "new", size=5000)
    assert names(cache) == ["new"]


def test_videos_handed_to_node_outputs_are_spared_while_among_the_last_few(tmp_path, monkeypatch):
    monkeypatch.setattr(result_cache, "PINNED_FILES", 2)
    cache = ResultCache(tmp_path, max_bytes=1000)
    place(cache, "a", age_s=300)
    place(cache, "b", age_s=200)
    cache.get("a", pin=True)
    os.utime(tmp_path / "a.mp4", (time.time() - 400, time.time() - 400))  # oldest, but in use
    put(cache, "c")
    assert names(cache) == ["a", "c"]
    cache.get("c", pin=True)
    put(cache, "d")
    assert names(cache) == ["a", "c", "d"]  # over the limit, but every file is in use
    cache.get("d", pin=True)                # now "a" is no longer among the last two
    assert cache.evict() == [tmp_path / "a.mp4"] and names(cache) == ["c", "d"]


def test_size_limit_comes_from_the_environment(monkeypatch, caplog):
    monkeypatch.delenv("RUNCOMFY_KLING3_CACHE_MAX_GB", raising=False)
    assert result_cache.max_bytes_from_env() == 4 * GIB
    assert result_cache.max_bytes_from_env({"RUNCOMFY_KLING3_CACHE_MAX_GB": "0.5"}) == GIB // 2
    assert result_cache.max_bytes_from_env({"RUNCOMFY_KLING3_CACHE_MAX_GB": " 10 "}) == 10 * GIB
    assert result_cache.max_bytes_from_env({"RUNCOMFY_KLING3_CACHE_MAX_GB": "0"}) == 0
    for bad in ("-1", "lots", "nan", "inf"):
        with caplog.at_level(logging.WARNING, logger="runcomfy_kling3"):
            assert result_cache.max_bytes_from_env({"RUNCOMFY_KLING3_CACHE_MAX_GB": bad}) == 4 * GIB
        assert "RUNCOMFY_KLING3_CACHE_MAX_GB" in caplog.text and repr(bad) in caplog.text
    monkeypatch.setenv("RUNCOMFY_KLING3_CACHE_MAX_GB", "2")
    assert ResultCache("unused").max_bytes == 2 * GIB


def test_leftovers_of_killed_downloads_are_swept_once_stale(tmp_path):
    cache = ResultCache(tmp_path, max_bytes=GIB)
    old = time.time() - 2 * result_cache.STALE_PART_S
    stale_part, fresh_part = tmp_path / ".x.mp4.1234.part", tmp_path / ".y.mp4.5678.part"
    orphan = tmp_path / "gone.json"
    for path in (stale_part, fresh_part, orphan):
        path.write_bytes(b"...")
    os.utime(stale_part, (old, old))
    os.utime(orphan, (old, old))
    put(cache, "req-1")
    assert not stale_part.exists() and not orphan.exists()
    assert fresh_part.exists()  # may belong to a download running in another process
    assert (tmp_path / "req-1.json").exists()


def test_file_names_are_safe_and_never_shared_by_two_ids():
    safe = result_cache.safe_name
    assert safe("0b9e1a3c-5f7d-4e2a-9c1b-2d3e4f5a6b7c") == "0b9e1a3c-5f7d-4e2a-9c1b-2d3e4f5a6b7c"
    odd = [safe("a/b"), safe("a_b"), safe("a:b"), safe("../../etc"), safe("x" * 300)]
    assert len(set(odd)) == len(odd)
    assert all("/" not in name and "." not in name and len(name) <= 120 for name in odd)
