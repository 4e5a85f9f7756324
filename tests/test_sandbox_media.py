"""The sandbox's result videos: real H.264/AAC files showing their shots."""
from __future__ import annotations

import av
import numpy as np

from pack_loader import pack_module
from sandbox_http import download, finished_video_url

video_maker = pack_module("sandbox.video_maker")


# --- the video ---------------------------------------------------------------------------------

def test_multi_shot_video_has_shot_colours_at_the_right_frames(sandbox, tmp_path):
    body = {"prompt": "story", "duration": 9,
            "multi_prompt": [{"prompt": "dawn", "duration": 3}, {"prompt": "noon", "duration": 3},
                             {"prompt": "dusk", "duration": 3}]}
    _, url = finished_video_url(sandbox, body)
    with av.open(str(download(url, tmp_path))) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (240, 136)    # 1920x1080 * 0.125, even
        assert video.average_rate == 24
        audio = container.streams.audio
        assert len(audio) == 1 and audio[0].rate == 48000 and audio[0].channels == 2
        corners = [frame.to_ndarray(format="rgb24")[2, 2].astype(int)
                   for frame in container.decode(video=0)]
    assert len(corners) == 9 * 24
    for index, expected_shot in [(0, 0), (71, 0), (72, 1), (143, 1), (144, 2), (215, 2)]:
        expected = np.array(video_maker.SHOT_COLORS[expected_shot])
        assert np.abs(corners[index] - expected).max() < 24, (index, corners[index])


def test_silent_portrait_video_has_no_audio(sandbox, tmp_path):
    _, url = finished_video_url(sandbox, {"prompt": "x", "duration": 3, "aspect_ratio": "9:16",
                                          "sound": False})
    with av.open(str(download(url, tmp_path))) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (136, 240)
        assert len(container.streams.audio) == 0
        assert sum(1 for _ in container.decode(video=0)) == 72
