"""Decoding while downloading: the same frames and sound as decoding the finished file, through
a resumed transfer, a transfer that starts over, and a file whose index comes last; the pace of
status requests near the expected end; the output buffer reserved before the file exists; a full
garbage collection only after an abandoned attempt."""
from __future__ import annotations

import gc
import io
import threading
import time

import numpy as np
import pytest

from pack_loader import pack_module
from streaming_helpers import (assert_same_clip, download_that_starts_over, finished_job, held_back_download,
                               stream_download)

download = pack_module("core.media.download")
decode = pack_module("core.media.decode")
growing = pack_module("core.media.growing_file")
frames_mod = pack_module("core.media.frames")
pacing = pack_module("core.pacing")
status_mod = pack_module("core.status")
errors = pack_module("core.errors")
video_maker = pack_module("sandbox.video_maker")
FrameSelection = frames_mod.FrameSelection

pytestmark = pytest.mark.skipif(not growing.streaming_supported(),
                                reason="not on this platform: decoding while downloading is POSIX-only")


def test_frames_decoded_while_downloading_equal_those_of_the_finished_file(tmp_path):
    clip, stream, _, path = held_back_download(tmp_path)
    assert stream.mode == "while downloading"
    assert_same_clip(clip, decode.decode_clip(path, FrameSelection()))


def test_selection_applies_while_downloading(tmp_path):
    selection = FrameSelection(skip_first_frames=5, select_every_nth=3, frame_load_cap=7, custom_width=64)
    clip, stream, _, path = held_back_download(tmp_path, selection)
    assert stream.mode == "while downloading" and clip.frames.frame_count == 7
    assert_same_clip(clip, decode.decode_clip(path, selection))


def test_a_resumed_transfer_still_decodes_while_downloading(tmp_path):
    clip, stream, origin, path = held_back_download(tmp_path, cut_at=0.4)
    assert origin.ranges[0] is None and origin.ranges[1].startswith("bytes=")  # broken, then resumed
    assert stream.mode == "while downloading"
    assert_same_clip(clip, decode.decode_clip(path, FrameSelection()))


def test_a_file_whose_index_comes_last_is_decoded_after_the_download(tmp_path):
    clip, stream, _, path = held_back_download(tmp_path, faststart=False)
    assert stream.mode == "after the download (the mp4 index comes last)"
    assert_same_clip(clip, decode.decode_clip(path, FrameSelection()))


def test_the_sandbox_file_host_decodes_the_same_with_its_index_last(sandbox, tmp_path):
    url = finished_job(sandbox, resolution_scale=0.125, moov_position="last")
    clip, stream, _ = stream_download(url, tmp_path / "video.mp4")
    assert stream.mode.startswith("after the download")
    assert_same_clip(clip, decode.decode_clip(tmp_path / "video.mp4", FrameSelection()))


def test_a_failed_download_ends_the_decoder_with_the_download_error(sandbox, tmp_path):
    url = finished_job(sandbox, resolution_scale=0.125)
    sandbox.faults.add("file", "truncate", count=None, fraction=0.0)
    with pytest.raises(errors.DownloadError):
        stream_download(url, tmp_path / "video.mp4", backoff_s=0.01, max_attempts=2)


def test_a_transfer_that_starts_over_falls_back_to_the_finished_file(tmp_path):
    clip, stream, final = download_that_starts_over(tmp_path)
    assert stream.mode == "after the download (the transfer started over)"
    assert_same_clip(clip, decode.decode_clip(final, FrameSelection()))


@pytest.fixture
def full_collections():
    """The full garbage collections run while the test runs (automatic ones are off, so only
    those the code asks for are counted)."""
    seen: list[dict] = []

    def note(phase, info):
        if phase == "start" and info.get("generation") == 2:
            seen.append(info)
    enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        if enabled:
            gc.enable()


def test_no_full_garbage_collection_when_nothing_was_decoded_from_the_stream(tmp_path, full_collections):
    # a full collection costs about 0.35 s in a ComfyUI process (660,000 objects): a file decoded
    # after its download, with no abandoned attempt to clear, must not pay for one
    clip, stream, _, path = held_back_download(tmp_path, faststart=False)
    assert stream.mode == "after the download (the mp4 index comes last)"
    assert clip.frames.frame_count > 0
    assert full_collections == []


def test_the_frames_of_an_abandoned_attempt_are_collected_before_the_next_buffer(tmp_path, full_collections):
    clip, stream, _ = download_that_starts_over(tmp_path, after_a_frame=True)
    assert stream.mode == "after the download (the transfer started over)"
    assert clip.frames.frame_count > 0
    assert len(full_collections) == 1


def test_the_reader_waits_for_bytes_instead_of_ending_early(tmp_path):
    part = tmp_path / "growing.bin"
    part.write_bytes(b"")
    feed = growing.DownloadFeed()
    feed.attach(part)
    reader = growing.GrowingFile(feed)
    got = []
    thread = threading.Thread(target=lambda: got.append(reader.read(10)))
    thread.start()
    with open(part, "ab") as sink:
        sink.write(b"0123456789")
    feed.advance(10, 20)
    thread.join()
    assert got == [b"0123456789"]
    assert reader.seek(0, io.SEEK_END) == 20  # the announced size, before it has all arrived
    feed.finish(part)
    reader.seek(10)
    assert reader.read(5) == b""  # a finished download that holds less ends there
    reader.close()


def test_header_end_finds_the_index_only_before_the_media(tmp_path):
    first = video_maker.make_clip(tmp_path / "first.mp4", duration=1, resolution_scale=0.125, sound=False)
    last = video_maker.make_clip(tmp_path / "last.mp4", duration=1, resolution_scale=0.125, sound=False,
                                 faststart=False)
    with open(first, "rb") as head:
        end = growing.header_end(head, first.stat().st_size)
        assert 0 < end < first.stat().st_size
        assert growing.header_end(head, 20) is None  # not enough yet to tell
    with open(last, "rb") as head:
        assert growing.header_end(head, last.stat().st_size) == -1
    (tmp_path / "page.html").write_bytes(b"<html><body>sign in</body></html>")
    with open(tmp_path / "page.html", "rb") as head:
        assert growing.header_end(head, 33) == -1


def test_pace_goes_to_one_poll_a_second_only_near_the_expected_end(monkeypatch):
    progress = status_mod.Progress()
    now = [1000.0]
    monkeypatch.setattr(pacing.time, "monotonic", lambda: now[0])
    pacer = pacing.Pacer(progress, 2.0, eta_s=100.0)
    assert pacer.interval() == 2.0  # not generating yet
    progress.generating_since = 1000.0
    now[0] = 1000.0 + 100.0 - pacing.NEAR_END_S - 1
    assert pacer.interval() == 2.0
    now[0] += 2
    assert pacer.interval() == pacing.MIN_POLL_INTERVAL_S == 1.0
    assert pacing.Pacer(progress, 2.0, eta_s=None).interval() == 2.0  # no history: as before
    # the frames' memory is reserved earlier than the pace goes up, once
    small = frames_mod.VideoInfo(64, 36, 24.0, 48, 2.0, False)
    reserving = pacing.Pacer(progress, 2.0, eta_s=100.0, expected=small, selection=FrameSelection())
    now[0] = 1000.0 + 100.0 - pacing.RESERVE_BEFORE_END_S - 1
    assert reserving.interval() == 2.0 and reserving.reservation is None
    now[0] += 2
    assert reserving.interval() == 2.0 and reserving.reservation.array.shape[1:] == (36, 64, 3)
    with reserving:
        assert reserving.reserve() is reserving.reservation
    assert reserving.reservation is None  # let go when the job ends without a decode taking it
    assert pacing.Pacer(progress, 0.05, eta_s=100.0).interval() == 0.05  # never slower than asked


def test_reserved_buffer_is_the_one_the_frames_fill(tmp_path):
    clip = video_maker.make_clip(tmp_path / "c.mp4", duration=2, resolution_scale=0.125, sound=False)
    info = frames_mod.probe_video(clip)
    reservation = frames_mod.reserve_frames(info, FrameSelection())
    address = reservation.array.ctypes.data
    decoded = frames_mod.decode_frames(clip, reserved=reservation)
    assert decoded.frames.ctypes.data == address and reservation.array is None
    expected = frames_mod.decode_frames(clip)
    assert np.array_equal(decoded.frames, expected.frames)
    # a reservation of another size is let go, and the frames get a buffer of their own
    other = frames_mod.reserve_frames(frames_mod.VideoInfo(64, 64, 24.0, 48, 2.0, False), FrameSelection())
    assert np.array_equal(frames_mod.decode_frames(clip, reserved=other).frames, expected.frames)
    assert other.array is None


def test_a_buffer_reserved_at_completion_is_faulted_in_only_once_the_header_matches(tmp_path):
    """Reserved when the job completed (no generation time to expect yet), the expected clip's
    memory is faulted in only when a decode takes it: a file of another size (a small or hostile
    one) lets it go without a page touched."""
    clip = video_maker.make_clip(tmp_path / "c.mp4", duration=2, resolution_scale=0.125, sound=False)
    info = frames_mod.probe_video(clip)
    other = frames_mod.reserve_frames(frames_mod.VideoInfo(64, 64, 24.0, 48, 2.0, False), FrameSelection(),
                                      prefault_now=False)
    prefaulter = other.prefaulter
    frames_mod.decode_frames(clip, reserved=other)
    assert other.array is None and not prefaulter.started
    matching = frames_mod.reserve_frames(info, FrameSelection(), prefault_now=False)
    prefaulter, address = matching.prefaulter, matching.array.ctypes.data
    assert not prefaulter.started or not prefaulter.supported
    decoded = frames_mod.decode_frames(clip, reserved=matching)
    assert decoded.frames.ctypes.data == address
    assert prefaulter.started == prefaulter.supported  # faulted in beside the decode, as before
    early = frames_mod.reserve_frames(info, FrameSelection())  # during the generation: at once
    assert early.prefaulter.started == early.prefaulter.supported
    early.release()
