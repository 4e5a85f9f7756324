"""What the text-to-video node shows while it runs: the status line and websocket event (the
generation times behind the estimate: test_generation_times.py; the preview: test_preview.py)."""
from __future__ import annotations

import asyncio
import json
import sys
import types

import pytest

from node_outputs import outputs
from pack_loader import PACK_DIR, load_pack, pack_module

status_events = pack_module("nodes.status_events")
T2V = load_pack().NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]

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
    assert json.loads(json.dumps(data)) == data  # the websocket carries JSON, losing nothing


def test_payload_keys_are_stable(server):
    status_events.send_status("3", "queued", queue_position=2, request_id="abc")
    data = server.sent[0][1]
    assert set(data) == {"node", "phase", "request_id", "queue_position", "elapsed_s", "eta_s",
                         "percent", "message", "text", "sent_at", "cost_usd", "progress", "overdue"}
    assert data["queue_position"] == 2 and data["percent"] is None and data["cost_usd"] is None


def test_the_done_event_carries_what_the_api_charged(server):
    status_events.send_status("3", "done", request_id="abc", cost_usd=0.504)
    status_events.send_status("4", "done", request_id="abd", cost_usd=float("nan"))
    assert server.sent[0][1]["cost_usd"] == 0.504 and server.sent[-1][1]["cost_usd"] is None


def test_several_nodes_each_get_their_own_status(server):
    status_events.send_status("4", "downloading", percent=10)
    status_events.send_status("9", "queued", queue_position=1)
    assert [(d["node"], d["text"]) for _, d, _ in server.sent] == [("4", "Downloading 10%"), ("9", "Queued (position 1)")]
    assert [(n, t) for n, t, _ in server.texts] == [("4", "Downloading 10%"), ("9", "Queued (position 1)")]


def test_long_failure_messages_are_cut_but_keep_the_request_id(server):
    status_events.send_status("5", "failed", request_id="req-77", message="x" * 1000)
    text = server.sent[0][1]["text"]
    # the whole advice is kept (the node wraps it); only a runaway text is cut
    status_events.send_status("5", "failed", request_id="req-77", message="x" * 5000)
    text = server.sent[1][1]["text"]
    assert len(text) < 1300 and text.endswith("request id req-77")
    assert "x" * 900 in server.sent[0][1]["text"]


def test_without_node_id_only_the_event_is_sent(server):
    status_events.send_status(None, "done")
    assert len(server.sent) == 1 and server.texts == []


def test_a_broken_server_never_breaks_the_generation(comfy, sandbox, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("socket gone")
    instance = sys.modules["server"].PromptServer.instance
    monkeypatch.setattr(instance, "send_sync", boom)
    monkeypatch.setattr(instance, "send_progress_text", boom)
    answer = asyncio.run(T2V().generate(prompt="a fox", negative_prompt="", duration=3, aspect_ratio="1:1",
                                        cfg_scale=0.5, sound=False, seed=3, unique_id="8"))
    out = outputs(T2V, answer)
    # every status send failed, yet the paid generation came through whole, and only once
    assert comfy.events == [] and comfy.progress_texts == []
    assert out["frame_count"] == 72 and out["images"].shape[0] == 72
    assert sandbox.submissions_ids == [out["request_id"]]
    assert comfy.bar_values[-1][1] == comfy.bar_values[-1][2]  # ComfyUI's bar ends full


def test_outside_comfyui_sending_is_a_no_op(server, monkeypatch):
    status_events.send_status("1", "queued", queue_position=1)
    assert len(server.sent) == len(server.texts) == 1
    monkeypatch.setitem(sys.modules, "server", None)  # "import server" fails: outside ComfyUI
    assert status_events.send_status("1", "generating") is None
    # nothing reached the server seen earlier: no instance is kept from an earlier call
    assert len(server.sent) == len(server.texts) == 1
