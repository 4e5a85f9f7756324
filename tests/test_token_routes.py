"""The token routes on ComfyUI's server: the token settings (saved server-side, masked, which
source wins) and the token check against the sandbox API (the server: routes_server.py)."""
from __future__ import annotations

import json
import logging
import sys
import types

import pytest
import requests

from pack_loader import pack_module
from routes_server import MODEL_PATH, TOKEN, api_requests, routes, routes_module  # noqa: F401 (fixture)


# --- token settings -------------------------------------------------------------------------------

def test_no_token_anywhere(routes):
    answer = routes.get("/runcomfy/kling3/token")
    assert answer.status_code == 200
    assert answer.json() == {"configured": False, "source": None, "masked": "", "overridden": []}


def test_environment_tokens_show_masked_with_their_source(routes):
    routes.environ.update(RUNCOMFY_TOKEN="cli-token-abcd1234", RUNCOMFY_API_TOKEN="api-token-efgh5678")
    answer = routes.get("/runcomfy/kling3/token").json()
    assert answer == {"configured": True, "source": "RUNCOMFY_API_TOKEN", "masked": "\u2022\u2022\u2022\u20225678",
                      "overridden": ["RUNCOMFY_TOKEN"]}


def test_saving_a_token_stores_it_server_side_and_answers_only_the_mask(routes, caplog):
    caplog.set_level(logging.DEBUG)
    routes.environ["RUNCOMFY_API_TOKEN"] = "env-token-00000000"
    saved = routes.send("POST", "/runcomfy/kling3/token", {"token": f"  {TOKEN}\n"})
    assert saved.status_code == 200
    assert saved.json() == {"configured": True, "source": "settings", "masked": "\u2022\u2022\u2022\u2022WXYZ",
                            "overridden": ["RUNCOMFY_API_TOKEN"]}
    token_file = routes.data_dir / "api_token"
    assert token_file.read_text().strip() == TOKEN
    assert (token_file.stat().st_mode & 0o777) == 0o600
    again = routes.get("/runcomfy/kling3/token")
    for text in (saved.text, again.text, caplog.text):
        assert TOKEN not in text and TOKEN[:-4] not in text


@pytest.mark.parametrize("system_dirs", [True, False], ids=["v0.21", "older-comfyui"])
def test_state_lives_where_comfyui_never_serves_it_and_where_the_nodes_look(tmp_path, monkeypatch, system_dirs):
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_user_directory = lambda: str(tmp_path / "user")
    if system_dirs:
        folder_paths.get_system_user_directory = lambda name="system": str(tmp_path / "user" / f"__{name}")
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)
    where = routes_module.RouteContext().token_store().path.parent  # the routes' default
    # "__" folders are refused by ComfyUI's /userdata routes; user/default is served by them
    assert where == tmp_path / "user" / "__runcomfy"
    assert where == pack_module("nodes.comfy_bridge").data_dir()


def test_deleting_the_saved_token_falls_back_to_the_environment(routes):
    routes.environ["RUNCOMFY_TOKEN"] = "cli-token-abcd1234"
    routes.send("POST", "/runcomfy/kling3/token", {"token": TOKEN})
    answer = routes.send("DELETE", "/runcomfy/kling3/token")
    assert answer.status_code == 200
    assert answer.json()["source"] == "RUNCOMFY_TOKEN"
    assert not (routes.data_dir / "api_token").exists()


@pytest.mark.parametrize("body", [{"token": ""}, {"token": "two\nlines-secretvalue"}, {"token": 5}, {"nope": 1}, [TOKEN]])
def test_bad_tokens_are_refused_without_echoing_them(routes, body):
    answer = routes.send("POST", "/runcomfy/kling3/token", body)
    assert answer.status_code == 400
    assert "secretvalue" not in answer.text
    assert not (routes.data_dir / "api_token").exists()


def test_an_oversized_body_is_refused(routes):
    answer = routes.send("POST", "/runcomfy/kling3/token", {"token": "x" * 20000})
    assert answer.status_code == 413
    chunked = requests.post(routes.url + "/runcomfy/kling3/token", data=iter([b'{"token": "', b"y" * 20000, b'"}']),
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert chunked.status_code == 413
    assert not (routes.data_dir / "api_token").exists()


def test_a_body_that_is_not_json_is_refused(routes):
    answer = requests.post(routes.url + "/runcomfy/kling3/token", data="{broken",
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400


# --- token check ----------------------------------------------------------------------------------

def test_check_valid_token_makes_one_authenticated_read_only_call(routes, sandbox):
    routes.environ["RUNCOMFY_API_BASE"] = sandbox.api_base
    routes.send("POST", "/runcomfy/kling3/token", {"token": "sandbox-token"})
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {})
    assert answer.status_code == 200
    assert answer.json()["result"] == "valid"
    calls = [r for r in sandbox.requests]
    assert len(calls) == 1
    assert calls[0].method == "GET" and calls[0].path == MODEL_PATH and calls[0].origin == "api"
    assert calls[0].headers["Authorization"] == "Bearer sandbox-token"
    assert "sandbox-token" not in answer.text


def test_check_uses_the_token_in_use_from_the_environment(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_TOKEN="sandbox-token")
    assert routes.send("POST", "/runcomfy/kling3/token/check", {}).json()["result"] == "valid"


def test_check_refused_token_is_invalid(routes, sandbox):
    routes.environ["RUNCOMFY_API_BASE"] = sandbox.api_base
    routes.send("POST", "/runcomfy/kling3/token", {"token": "not-a-sandbox-token"})
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer["result"] == "invalid"
    assert "not-a-sandbox-token" not in json.dumps(answer)


def test_check_without_any_token_is_invalid_and_calls_nothing(routes, sandbox):
    routes.environ["RUNCOMFY_API_BASE"] = sandbox.api_base
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer["result"] == "invalid" and "No API token" in answer["detail"]
    assert sandbox.requests == []


@pytest.mark.parametrize("fault", ["http_500", "http_503", "error_code_200", "drop"])
def test_check_server_trouble_is_unreachable_not_invalid(routes, sandbox, fault):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="sandbox-token")
    sandbox.faults.add("model", fault)
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer["result"] == "unreachable", answer
    assert len(api_requests(sandbox)) == 1  # one call: no retries behind a button press


def test_check_timeout_is_unreachable(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="sandbox-token")
    sandbox.faults.add("model", "slow", delay=1.0)
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer == {"result": "unreachable", "detail": f"No answer from {sandbox.api_base}: timed out"}


def test_check_nothing_listening_is_unreachable(routes, sandbox_factory):
    stopped = sandbox_factory().start()
    base = stopped.api_base
    stopped.stop()
    routes.environ.update(RUNCOMFY_API_BASE=base, RUNCOMFY_API_TOKEN="sandbox-token")
    assert routes.send("POST", "/runcomfy/kling3/token/check", {}).json()["result"] == "unreachable"


def test_check_never_sends_the_token_over_plain_http_to_a_remote_host(routes):
    routes.environ.update(RUNCOMFY_API_BASE="http://api.example.com", RUNCOMFY_API_TOKEN="sandbox-token")
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer["result"] == "unreachable" and "plain http" in answer["detail"]


def test_a_damaged_token_file_is_reported_not_a_500_nor_a_silent_switch_to_the_environment(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="env-token-00000000")
    path = routes.data_dir / "api_token"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xfe not a token")
    status = routes.get("/runcomfy/kling3/token")
    assert status.status_code == 200
    assert status.json()["configured"] is False and str(path) in status.json()["error"]
    check = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert check["result"] == "invalid" and str(path) in check["detail"]
    assert sandbox.requests == []  # the environment's token was not used instead
