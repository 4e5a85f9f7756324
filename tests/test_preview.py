"""The video preview the nodes show in ComfyUI: the shape of ComfyUI's own video preview, placed
in its temp directory (a link, not a second copy, where possible)."""
from __future__ import annotations

import os
import sys
import types

import pytest

from comfyui_harness import platform_skipif
from pack_loader import pack_module

preview = pack_module("nodes.preview")


def test_preview_has_the_shape_of_comfyuis_own_video_preview(tmp_path):
    video = tmp_path / "results" / "kling-req-1.mp4"
    video.parent.mkdir()
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 100)
    temp = tmp_path / "temp"
    ui = preview.preview_ui(video, temp_dir=temp)
    assert ui == {"images": [{"filename": "kling-req-1.mp4", "subfolder": "runcomfy-kling3", "type": "temp"}],
                  "animated": (True,)}
    placed = temp / "runcomfy-kling3" / "kling-req-1.mp4"
    assert placed.read_bytes() == video.read_bytes()
    assert video.exists()  # the pack's own copy stays


def test_showing_the_same_result_again_reuses_the_preview(tmp_path):
    video = tmp_path / "kling-req-2.mp4"
    video.write_bytes(b"video-bytes")
    first = preview.preview_ui(video, temp_dir=tmp_path / "temp")
    again = preview.preview_ui(video, temp_dir=tmp_path / "temp")
    assert first == again
    assert len(list((tmp_path / "temp" / "runcomfy-kling3").iterdir())) == 1


def test_a_different_file_with_the_same_name_gets_its_own_preview(tmp_path):
    one, two = tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"
    for path, data in ((one, b"first"), (two, b"second!")):
        path.parent.mkdir()
        path.write_bytes(data)
    names = [preview.preview_ui(p, temp_dir=tmp_path / "temp")["images"][0]["filename"] for p in (one, two)]
    assert names == ["clip.mp4", "clip_1.mp4"]
    assert (tmp_path / "temp" / "runcomfy-kling3" / "clip_1.mp4").read_bytes() == b"second!"


def test_preview_uses_comfyuis_temp_directory(tmp_path, monkeypatch):
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_temp_directory = lambda: str(tmp_path / "comfy-temp")
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"v")
    preview.preview_ui(video)
    assert (tmp_path / "comfy-temp" / "runcomfy-kling3" / "v.mp4").exists()


def test_no_preview_is_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "folder_paths", None)
    assert preview.preview_ui(tmp_path / "v.mp4") == {}  # outside ComfyUI
    assert preview.preview_ui(tmp_path / "missing.mp4", temp_dir=tmp_path / "temp") == {}


@platform_skipif(os.name != "posix", "hard links")
def test_preview_is_a_link_not_a_second_copy_when_possible(tmp_path):
    video = tmp_path / "big.mp4"
    video.write_bytes(b"x" * 4096)
    preview.preview_ui(video, temp_dir=tmp_path / "temp")
    assert os.path.samefile(video, tmp_path / "temp" / "runcomfy-kling3" / "big.mp4")
