"""Frames: every option's effect on the IMAGE tensor, fps and frame count, the memory
pre-check, and clear errors for files that are not videos."""
from __future__ import annotations

import gc
import re

import numpy as np
import pytest

from pack_loader import pack_module

frames_mod = pack_module("core.media.frames")
memory = pack_module("core.media.memory")
stopping = pack_module("core.stopping")
errors = pack_module("core.errors")
video_maker = pack_module("sandbox.video_maker")
FrameSelection = frames_mod.FrameSelection

FPS = 24
SCALE = 0.125                      # 1920x1080 -> 240x136: small and fast
WIDTH, HEIGHT = video_maker.frame_size("16:9", SCALE)
SHOTS = [("first shot", 1), ("second shot", 1)]   # 24 red frames, then 24 green ones
TOTAL = 48


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return video_maker.make_clip(tmp_path_factory.mktemp("frames") / "two_shots.mp4", duration=2,
                                 shots=SHOTS, resolution_scale=SCALE, fps=FPS, sound=False)


def shot_of(frame: np.ndarray) -> int:
    """Which shot a decoded frame belongs to, from its corner colour (never covered by text)."""
    corner = frame[2, 2] * 255
    distances = [np.abs(corner - np.array(video_maker.shot_color(k))).sum() for k in range(2)]
    return int(np.argmin(distances))


def test_default_decode_gives_every_frame_as_float_rgb(clip):
    decoded = frames_mod.decode_frames(clip)
    images = decoded.frames
    assert images.shape == (TOTAL, HEIGHT, WIDTH, 3)
    assert images.dtype == np.float32 and images.flags.c_contiguous and images.flags.writeable
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert (decoded.frame_count, decoded.fps, decoded.width, decoded.height) == (TOTAL, 24.0, WIDTH, HEIGHT)
    # RGB order, not opencv's BGR: the first shot is red (200, 40, 40)
    np.testing.assert_allclose(images[0, 2, 2] * 255, video_maker.shot_color(0), atol=12)
    assert [shot_of(f) for f in images[[0, 23, 24, 47]]] == [0, 0, 1, 1]


def test_frames_outlive_every_other_reference(clip):
    images = frames_mod.decode_frames(clip, FrameSelection(frame_load_cap=3)).frames
    gc.collect()
    images[:] = 0.25   # still mapped and writable (torch.from_numpy shares exactly this)
    assert float(images.sum()) == pytest.approx(0.25 * images.size)


@pytest.mark.parametrize("selection, count, fps, first_source_frame", [
    (FrameSelection(skip_first_frames=24), 24, 24.0, 24),
    (FrameSelection(frame_load_cap=5), 5, 24.0, 0),
    (FrameSelection(select_every_nth=2), 24, 12.0, 0),
    (FrameSelection(select_every_nth=5), 10, 4.8, 0),
    (FrameSelection(skip_first_frames=20, select_every_nth=3, frame_load_cap=4), 4, 8.0, 20),
    (FrameSelection(frame_load_cap=1000), TOTAL, 24.0, 0),
])
def test_options_set_frame_count_and_fps(clip, selection, count, fps, first_source_frame):
    info = frames_mod.probe_video(clip)
    decoded = frames_mod.decode_frames(clip, selection)
    assert decoded.frames.shape[0] == decoded.frame_count == count
    assert decoded.fps == pytest.approx(fps)
    assert frames_mod.plan_frames(info, selection)[0] == count
    # frame k of the output is source frame skip + k * nth
    sources = [first_source_frame + k * selection.select_every_nth for k in range(count)]
    assert [shot_of(f) for f in decoded.frames] == [s // FPS for s in sources]


def test_custom_width_keeps_the_aspect_ratio(clip):
    decoded = frames_mod.decode_frames(clip, FrameSelection(custom_width=120, frame_load_cap=2))
    assert decoded.frames.shape == (2, 68, 120, 3)
    assert (decoded.width, decoded.height) == (120, 68)


def test_custom_height_keeps_the_aspect_ratio(clip):
    decoded = frames_mod.decode_frames(clip, FrameSelection(custom_height=272, frame_load_cap=2))
    assert decoded.frames.shape == (2, 272, 480, 3)   # upscaling works too


def test_both_sizes_scale_to_cover_and_crop_the_centre(clip):
    full = frames_mod.decode_frames(clip, FrameSelection(frame_load_cap=1)).frames[0]
    square = frames_mod.decode_frames(
        clip, FrameSelection(custom_width=68, custom_height=68, frame_load_cap=1)).frames[0]
    assert square.shape == (68, 68, 3)
    # the centre 136x136 of the frame, halved: same picture, no black bars, no squashing
    centre = full[:, (WIDTH - HEIGHT) // 2:(WIDTH + HEIGHT) // 2]
    halved = centre.reshape(68, 2, 68, 2, 3).mean(axis=(1, 3))
    assert np.abs(halved - square).mean() < 0.03
    np.testing.assert_allclose(square[1, 1] * 255, video_maker.shot_color(0), atol=12)


@pytest.mark.parametrize("field, value", [
    ("frame_load_cap", -1), ("skip_first_frames", -5), ("select_every_nth", 0),
    ("select_every_nth", -2), ("custom_width", -8), ("custom_height", -1)])
def test_invalid_option_names_its_field(clip, field, value):
    with pytest.raises(errors.InvalidInputError) as caught:
        frames_mod.decode_frames(clip, FrameSelection(**{field: value}))
    assert caught.value.field == field and field in str(caught.value)


def test_selection_that_leaves_no_frame_is_a_clear_error(clip):
    with pytest.raises(errors.InvalidInputError, match="skip_first_frames.*48 frames"):
        frames_mod.decode_frames(clip, FrameSelection(skip_first_frames=48))


def test_memory_check_names_size_and_options_that_fit():
    info = frames_mod.VideoInfo(width=1920, height=1080, fps=24.0, frame_count=360, duration=15.0,
                                has_audio=True)
    need = memory.estimate_bytes(info, FrameSelection())
    assert need >= 360 * 1080 * 1920 * 3 * 4
    available = 4 * 1024 ** 3
    with pytest.raises(errors.NotEnoughMemoryError) as caught:
        memory.check_memory(info, FrameSelection(), available_bytes=available, request_id="req-9")
    message = str(caught.value)
    assert "8.3 GiB" in message and "4.0 GiB" in message and "req-9" in message
    suggestions = {name: int(value) for name, value in
                   re.findall(r"(frame_load_cap|select_every_nth|custom_width) (?:[<>]= )?(\d+)", message)}
    assert set(suggestions) == {"frame_load_cap", "select_every_nth", "custom_width"}
    # each suggestion, applied alone, passes the same check; one step less does not
    for name, value in suggestions.items():
        memory.check_memory(info, FrameSelection(**{name: value}), available_bytes=available)
    worse = {"frame_load_cap": suggestions["frame_load_cap"] + 1,
             "select_every_nth": suggestions["select_every_nth"] - 1}
    for name, value in worse.items():
        with pytest.raises(errors.NotEnoughMemoryError):
            memory.check_memory(info, FrameSelection(**{name: value}), available_bytes=available)


def test_decode_refuses_before_allocating_when_memory_is_short(clip, monkeypatch):
    def no_allocation(*args, **kwargs):
        raise AssertionError("allocated before checking memory")

    monkeypatch.setattr(frames_mod.buffers, "allocate", no_allocation)
    # 280 MiB available leaves room for about 22 of the 48 frames (the rest is kept free)
    with pytest.raises(errors.NotEnoughMemoryError, match="frame_load_cap <= 2[0-9]"):
        frames_mod.decode_frames(clip, available_bytes=280 * 1024 ** 2)


def test_machine_memory_estimate_is_plausible():
    buffers = pack_module("core.media.buffers")
    available = buffers.available_memory_bytes()
    assert 64 * 1024 ** 2 < available < 1 << 50


def test_text_file_is_a_decode_error(tmp_path):
    fake = tmp_path / "result.mp4"
    fake.write_text("<html><body>Access denied</body></html>")
    with pytest.raises(errors.DecodeError, match="result.mp4 could not be opened as a video"):
        frames_mod.decode_frames(fake)


def test_garbage_bytes_are_a_decode_error(tmp_path):
    fake = tmp_path / "noise.mp4"
    fake.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(errors.DecodeError):
        frames_mod.probe_video(fake)
    with pytest.raises(errors.DecodeError):
        frames_mod.decode_frames(fake, request_id="req-1")


def test_file_cut_short_gives_the_frames_it_has(clip, tmp_path):
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])   # header intact (faststart), frames missing
    assert frames_mod.probe_video(cut).frame_count == TOTAL
    decoded = frames_mod.decode_frames(cut)
    assert 0 < decoded.frame_count < TOTAL
    assert decoded.frames.shape[0] == decoded.frame_count and decoded.frames.flags.c_contiguous
    assert [shot_of(f) for f in decoded.frames[:3]] == [0, 0, 0]


def test_video_with_only_sound_is_a_decode_error(tmp_path):
    import wave

    path = tmp_path / "sound.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    with pytest.raises(errors.DecodeError, match="no video stream"):
        frames_mod.decode_frames(path)


def test_progress_reports_every_frame_and_stop_is_honoured(clip):
    seen = []
    frames_mod.decode_frames(clip, FrameSelection(select_every_nth=4),
                             progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(errors.StoppedError), stopping.scope(lambda: len(seen) > 20):
        frames_mod.decode_frames(clip, progress=lambda done, total: seen.append(done), request_id="req-5")
