"""What the result file can be: crafted hostile mp4s, the index (moov) first or last, and
realistic footage (texture, motion, grain at Kling's bitrate) instead of flat colours."""
from __future__ import annotations

import struct

import av
import numpy as np
import pytest
import requests

from pack_loader import pack_module
from sandbox_http import download, finished_video_url

video_maker = pack_module("sandbox.video_maker")
realistic = pack_module("sandbox.realistic_footage")
HOUR = 3600


def top_level_boxes(data: bytes) -> list[str]:
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        if size == 1:
            size = struct.unpack_from(">Q", data, at + 8)[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        at += size
    return boxes


def seconds(stream, value):
    return float(value * stream.time_base)


def crafted(sandbox, tmp_path, name):
    sandbox.settings.media = name
    _, url = finished_video_url(sandbox)
    return download(url, tmp_path, f"{name}.mp4")


@pytest.mark.parametrize("name, hours", [("audio_starts_3h", 3), ("audio_starts_24h", 24)])
def test_crafted_audio_starting_hours_in(sandbox, tmp_path, name, hours):
    path = crafted(sandbox, tmp_path, name)
    assert path.stat().st_size < 16_000
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert seconds(video, video.duration) == pytest.approx(2.0)
        assert seconds(audio, audio.start_time) == pytest.approx(hours * HOUR, abs=1)


def test_crafted_one_frame_per_hour(sandbox, tmp_path):
    path = crafted(sandbox, tmp_path, "fps_1_per_3600")
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.average_rate == pytest.approx(1 / 3600)
        assert seconds(video, video.duration) == pytest.approx(3 * HOUR)
        assert sum(1 for _ in container.decode(video=0)) == 3


@pytest.mark.parametrize("name, claimed_seconds", [
    ("frames_10h_apart", 20 * HOUR), ("duration_huge", 50 * 365 * 24 * HOUR)])
def test_crafted_absurd_durations(sandbox, tmp_path, name, claimed_seconds):
    path = crafted(sandbox, tmp_path, name)
    assert path.stat().st_size < 16_000
    with av.open(str(path)) as container:
        assert container.duration / 1e6 == pytest.approx(claimed_seconds, rel=0.01)


def test_crafted_zero_duration_headers(sandbox, tmp_path):
    path = crafted(sandbox, tmp_path, "duration_zero")
    with av.open(str(path)) as container:
        assert not container.duration and not container.streams.video[0].duration


def test_media_setting_is_checked_and_listed(sandbox):
    with pytest.raises(ValueError):
        sandbox.settings.media = "virus"
    listed = requests.get(f"{sandbox.api_base}/_sandbox/capabilities").json()
    assert set(listed["media"]) == set(pack_module("sandbox").CRAFTED_MEDIA)
    assert "file" in listed["fault_kinds"]["truncate"]


@pytest.mark.parametrize("position, before, after", [("first", "moov", "mdat"),
                                                     ("last", "mdat", "moov")])
def test_moov_position(sandbox, position, before, after):
    sandbox.settings.moov_position = position
    _, url = finished_video_url(sandbox, {"prompt": "index test", "duration": 3})
    boxes = top_level_boxes(requests.get(url, timeout=10).content)
    assert boxes[0] == "ftyp" and boxes.index(before) < boxes.index(after)


def _video_bytes_and_frames(path):
    with av.open(str(path)) as container:
        size = sum(packet.size for packet in container.demux(video=0))
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return size, frames


def test_realistic_footage_moves_is_noisy_and_keeps_its_shot_colours(sandbox, tmp_path):
    body = {"prompt": "realism", "duration": 3, "aspect_ratio": "1:1",
            "multi_prompt": [{"prompt": "dawn", "duration": 3}]}
    _, light_url = finished_video_url(sandbox, body)
    sandbox.settings.footage = "realistic"
    _, real_url = finished_video_url(sandbox, body)
    light_size, light = _video_bytes_and_frames(download(light_url, tmp_path, "light.mp4"))
    real_size, real = _video_bytes_and_frames(download(real_url, tmp_path, "real.mp4"))
    assert len(real) == len(light) == 72 and real[0].shape == light[0].shape == (180, 180, 3)
    assert real_size > 3 * light_size         # at this tiny size the text weighs a lot
    moved = np.abs(real[0].astype(int) - real[23].astype(int)).mean()     # a second apart
    assert moved > 5 * np.abs(light[0].astype(int) - light[23].astype(int)).mean()
    # the picture is the shot's colour under the texture
    mean = real[36][60:120, :].reshape(-1, 3).mean(axis=0)
    assert np.abs(mean - np.array(video_maker.shot_color(0))).max() < 40


def test_realistic_footage_bitrate_is_like_klings(tmp_path):
    width, height = video_maker.frame_size("16:9", 0.5)
    target, _ = realistic.encoder_settings(width, height, 24)
    path = video_maker.make_clip(tmp_path / "real.mp4", duration=3, footage="realistic",
                                 resolution_scale=0.5, sound=False)
    size, frames = _video_bytes_and_frames(path)
    assert len(frames) == 72 and frames[0].shape == (540, 960, 3)
    assert 0.6 * target < size * 8 / 3 < 1.4 * target
    assert target * 4 == pytest.approx(realistic.BITS_PER_SECOND_1080P24, rel=0.01)
