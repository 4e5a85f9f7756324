"""What the text-to-video node shows while and after it runs: the status line and websocket
event, the learnt generation times behind the time-left estimate, and the video preview."""
from __future__ import annotations

import json
import os
import sys
import threading
import types

import pytest

from pack_loader import PACK_DIR, pack_module

status_events = pack_module("nodes.status_events")
preview = pack_module("nodes.preview")
GenerationTimes = pack_module("core.generation_times").GenerationTimes

CASES = json.loads((PACK_DIR / "web" / "tests" / "status_text_cases.json").read_text(encoding="utf-8"))["cases"]


class RecordingServer:
    """Stands in for ComfyUI's ``PromptServer.instance``."""

    def __init__(self, client_id=None):
        self.client_id = client_id
        self.sent: list[tuple[str, dict, object]] = []
        self.texts: list[tuple[str, str, object]] = []

    def send_sync(self, event, data, sid=None):
        self.sent.append((event, data, sid))

    def send_progress_text(self, text, node_id, sid=None):
        self.texts.append((node_id, text, sid))


@pytest.fixture
def server(monkeypatch):
    instance = RecordingServer(client_id="client-1")
    module = types.ModuleType("server")
    module.PromptServer = type("PromptServer", (), {"instance": instance})
    monkeypatch.setitem(sys.modules, "server", module)
    return instance


# --- status text ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[f"{c['phase']}-{i}" for i, c in enumerate(CASES)])
def test_status_text_matches_the_cases_the_extension_is_tested_with(case):
    assert status_events.status_text(case["phase"], **case["values"]) == case["text"]


def test_every_phase_has_a_readable_text():
    for phase in status_events.PHASES:
        text = status_events.status_text(phase)
        assert text and text[0].isupper(), phase


# --- sending --------------------------------------------------------------------------------------

def test_status_reaches_both_the_event_and_the_native_status_text(server):
    status_events.send_status("12", "generating", request_id="req-1", elapsed_s=42.94, eta_s=70.04)
    (event, data, sid), = server.sent
    assert event == status_events.EVENT == "runcomfy.kling3.status"
    assert data["node"] == "12" and data["phase"] == "generating" and data["request_id"] == "req-1"
    assert data["elapsed_s"] == 42.9 and data["eta_s"] == 70.0
    assert data["text"] == "Generating · 0:42 elapsed · ~1:10 left"
    assert server.texts == [("12", data["text"], "client-1")]
    assert sid == "client-1"  # only the browser that queued the prompt, as ComfyUI's own events
    json.dumps(data)  # the websocket carries JSON


def test_payload_keys_are_stable(server):
    status_events.send_status("3", "queued", queue_position=2, request_id="abc")
    data = server.sent[0][1]
    assert set(data) == {"node", "phase", "request_id", "queue_position", "elapsed_s", "eta_s",
                         "percent", "message", "text", "sent_at"}
    assert data["queue_position"] == 2 and data["percent"] is None


def test_several_nodes_each_get_their_own_status(server):
    status_events.send_status("4", "downloading", percent=10)
    status_events.send_status("9", "queued", queue_position=1)
    assert [(d["node"], d["text"]) for _, d, _ in server.sent] == [("4", "Downloading 10%"), ("9", "Queued (position 1)")]
    assert [(n, t) for n, t, _ in server.texts] == [("4", "Downloading 10%"), ("9", "Queued (position 1)")]


def test_long_failure_messages_are_cut_but_keep_the_request_id(server):
    status_events.send_status("5", "failed", request_id="req-77", message="x" * 1000)
    text = server.sent[0][1]["text"]
    assert len(text) < 400 and text.endswith("request id req-77")


def test_without_node_id_only_the_event_is_sent(server):
    status_events.send_status(None, "done")
    assert len(server.sent) == 1 and server.texts == []


def test_a_broken_server_never_breaks_the_generation(server, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("socket gone")
    monkeypatch.setattr(server, "send_sync", boom)
    status_events.send_status("1", "generating")  # no exception


def test_outside_comfyui_sending_is_a_no_op(monkeypatch):
    monkeypatch.setitem(sys.modules, "server", None)  # "import server" fails
    status_events.send_status("1", "queued", queue_position=1)


# --- generation times -----------------------------------------------------------------------------

def test_no_history_means_no_estimate(tmp_path):
    assert GenerationTimes(tmp_path / "times.json").estimate(5) is None


def test_estimate_is_the_median_of_the_same_duration(tmp_path):
    times = GenerationTimes(tmp_path / "runcomfy" / "times.json")
    for seconds in (60, 300, 90):
        times.record(5, seconds)
    times.record(10, 500)
    assert times.estimate(5) == 90
    assert times.estimate(10) == 500
    assert times.estimate(15) is None
    assert GenerationTimes(times.path).estimate(5) == 90  # persisted


def test_only_the_last_twenty_runs_count(tmp_path):
    times = GenerationTimes(tmp_path / "times.json")
    for _ in range(25):
        times.record(5, 1000)
    for _ in range(20):
        times.record(5, 50)
    assert times.estimate(5) == 50
    stored = json.loads(times.path.read_text())["durations"]["5"]
    assert len(stored) == 20


def test_impossible_values_are_ignored(tmp_path):
    times = GenerationTimes(tmp_path / "times.json")
    for bad in (0, -5, float("nan"), float("inf"), None, "60", True):
        times.record(5, bad)  # type: ignore[arg-type]
    times.record("x", 60)  # type: ignore[arg-type]
    assert times.estimate(5) is None
    assert not times.path.exists()


def test_a_damaged_file_is_replaced_not_fatal(tmp_path):
    path = tmp_path / "times.json"
    path.write_text("{not json")
    times = GenerationTimes(path)
    assert times.estimate(5) is None
    times.record(5, 42)
    assert times.estimate(5) == 42


def test_concurrent_records_from_threads_all_land(tmp_path):
    times = GenerationTimes(tmp_path / "times.json")
    threads = [threading.Thread(target=lambda i=i: times.record(3 + i % 3, 10 + i)) for i in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = json.loads(times.path.read_text())["durations"]
    assert sum(len(v) for v in stored.values()) == 15
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_records_from_two_processes_all_land(tmp_path):
    import subprocess
    script = ("import sys; sys.path.insert(0, sys.argv[1]);"
              "from pack_loader import pack_module;"
              "T = pack_module('core.generation_times').GenerationTimes;"
              "t = T(__import__('pathlib').Path(sys.argv[2]));"
              "[t.record(5, 10 + i) for i in range(8)]")
    path = tmp_path / "times.json"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(PACK_DIR / "tests"), str(path)])
             for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    # read-modify-write under the lock: no process overwrote a sample of the other
    assert len(json.loads(path.read_text())["durations"]["5"]) == 16


# --- preview --------------------------------------------------------------------------------------

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


@pytest.mark.skipif(os.name != "posix", reason="hard links")
def test_preview_is_a_link_not_a_second_copy_when_possible(tmp_path):
    video = tmp_path / "big.mp4"
    video.write_bytes(b"x" * 4096)
    preview.preview_ui(video, temp_dir=tmp_path / "temp")
    assert os.path.samefile(video, tmp_path / "temp" / "runcomfy-kling3" / "big.mp4")
