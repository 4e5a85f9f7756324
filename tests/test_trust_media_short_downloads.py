"""Trust under attack, short downloads: a file host that sends nothing, or a body without
Content-Length cut at half, must never leave a bad file in the result cache. A download is
committed only once it checks out (a readable container holding every packet its header
announces); a bad one is downloaded again while the URL is valid, else a clear error with the
request id. A cached file is checked (size, SHA-256 recorded at commit) before every reuse: one
that changed is dropped and fetched again from the result URL, never paid again."""
from __future__ import annotations

import json

import pytest

from pack_loader import pack_module
from pipeline_helpers import FRAMES_OF_3S, file_calls, generate, make_pipeline, settings_for

errors = pack_module("core.errors")
download = pack_module("core.media.download")
probe = pack_module("core.media.probe")
result_cache = pack_module("core.store.result_cache")


def video_gets(sandbox) -> int:
    return len([r for r in file_calls(sandbox) if r.method == "GET"])


def cached_video(pipeline, request_id):
    return pipeline.state.results().video_path(request_id)


@pytest.mark.parametrize("kind, params", [
    ("empty_body", {"content_length": True}),
    ("empty_body", {"content_length": False}),
    ("truncate", {"fraction": 0.5, "framing": "close"}),
    ("truncate", {"fraction": 0.5, "framing": "chunked"}),
], ids=["0-bytes-with-length-0", "0-bytes-no-length", "half-no-length", "half-clean-chunked"])
def test_a_short_body_is_downloaded_again_and_never_cached(tmp_path, sandbox, kind, params):
    sandbox.faults.add("file", kind, **params)
    pipeline = make_pipeline(tmp_path, sandbox)
    result = generate(pipeline, sandbox)
    assert result.clip.frames.frame_count == FRAMES_OF_3S      # all frames, not 47 or an error
    assert video_gets(sandbox) == 2 and len(sandbox.submissions) == 1
    # the cache holds the good file, with the size and checksum it was committed with
    path = cached_video(pipeline, result.video.request_id)
    meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
    assert meta["size"] == path.stat().st_size and meta["sha256"] == result_cache.file_checksum(path)
    # and a re-run serves it without any request
    seen = len(sandbox.requests)
    assert generate(pipeline, sandbox).clip.frames.frame_count == FRAMES_OF_3S
    assert len(sandbox.requests) == seen


def test_a_host_that_only_sends_short_bodies_gives_a_clear_error_and_caches_nothing(tmp_path, sandbox):
    sandbox.faults.add("file", "truncate", count=None, fraction=0.5, framing="close")
    pipeline = make_pipeline(tmp_path, sandbox)
    with pytest.raises(errors.DecodeError) as info:
        generate(pipeline, sandbox)
    request_id = info.value.request_id
    assert request_id and request_id in str(info.value) and "without paying again" in str(info.value)
    assert f"bad {download.VERIFY_ATTEMPTS} times" in str(info.value) and "cut short" in str(info.value)
    assert video_gets(sandbox) == download.VERIFY_ATTEMPTS
    assert not cached_video(pipeline, request_id).exists()
    # the host recovers: the re-run downloads again (the bad file was never served from the cache)
    sandbox.faults.clear()
    assert generate(pipeline, sandbox).clip.frames.frame_count == FRAMES_OF_3S
    assert len(sandbox.submissions) == 1 and video_gets(sandbox) == download.VERIFY_ATTEMPTS + 1


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def flip_bytes(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    path.write_bytes(bytes(data))


def empty(path):
    path.write_bytes(b"")


@pytest.mark.parametrize("tamper", [truncate, flip_bytes, empty], ids=["truncated", "flipped", "emptied"])
def test_a_tampered_cached_file_is_fetched_again_never_paid_again(tmp_path, sandbox, tamper, caplog):
    pipeline = make_pipeline(tmp_path, sandbox)
    first = generate(pipeline, sandbox)
    path = cached_video(pipeline, first.video.request_id)
    good = path.read_bytes()
    tamper(path)
    again = generate(pipeline, sandbox)
    assert again.video.request_id == first.video.request_id and not again.video.reused
    assert again.clip.frames.frame_count == FRAMES_OF_3S
    assert path.read_bytes() == good and video_gets(sandbox) == 2
    assert len(sandbox.submissions) == 1
    assert "damaged" in caplog.text and first.video.request_id in caplog.text


def test_a_tampered_file_fetched_by_request_id_is_downloaded_again(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    request_id = generate(pipeline, sandbox).video.request_id
    flip_bytes(cached_video(pipeline, request_id))
    status, selection = pack_module("core.status"), pack_module("core.media.selection")
    result = pipeline.fetch(request_id, selection.FrameSelection(), settings_for(sandbox),
                            progress=status.Progress())
    assert result.clip.frames.frame_count == FRAMES_OF_3S and video_gets(sandbox) == 2
    assert len(sandbox.submissions) == 1


def test_a_tampered_cached_file_whose_result_expired_is_a_clear_error_not_a_new_job(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    request_id = generate(pipeline, sandbox).video.request_id
    sandbox.expire(request_id)
    truncate(cached_video(pipeline, request_id))
    with pytest.raises(errors.ResultExpiredError) as info:
        generate(pipeline, sandbox)
    assert request_id in str(info.value) and "seed" in str(info.value)
    assert len(sandbox.submissions) == 1


def test_verify_video_refuses_incomplete_files_and_accepts_whole_ones(tmp_path):
    video_maker = pack_module("sandbox.video_maker")
    for faststart in (True, False):
        whole = video_maker.make_clip(tmp_path / f"whole-{faststart}.mp4", duration=2, resolution_scale=0.125,
                                      faststart=faststart)
        assert probe.verify_video(whole).frame_count == 48
        data = whole.read_bytes()
        for keep in (0, len(data) // 2, len(data) - 50):
            cut = tmp_path / "cut.mp4"
            cut.write_bytes(data[:keep])
            with pytest.raises(errors.DecodeError, match="result.mp4 (could not|is damaged|ends inside)"):
                probe.verify_video(cut, name="result.mp4")


def test_cached_files_of_older_versions_without_a_checksum_are_still_served(tmp_path):
    cache = result_cache.ResultCache(tmp_path, max_bytes=1024 ** 3)
    cache.prepare("old", "https://files.example/old.mp4")
    cache.video_path("old").write_bytes(b"v" * 1000)      # no size or checksum recorded
    assert cache.get("old").path.exists()
    cache.prepare("empty", "https://files.example/empty.mp4")
    cache.video_path("empty").write_bytes(b"")            # the old bug's 0-byte file
    assert cache.get("empty") is None and not cache.video_path("empty").exists()
