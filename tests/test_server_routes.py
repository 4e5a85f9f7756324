"""The pack's routes on ComfyUI's server, served by a real aiohttp server on 127.0.0.1:
token settings (saved, masked, precedence), the token check against the sandbox API, prices,
time estimates, and the refusal of cross-origin requests."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from pack_loader import pack_module

routes_module = pack_module("nodes.server_routes")
pricing_module = pack_module("core.kling.pricing")
MODEL_PATH = "/v1/models/kling/kling-3.0/pro/text-to-video"
TOKEN = "rc_test_0123456789abcdefWXYZ"


class RoutesServer:
    def __init__(self, url: str, environ: dict, context, data_dir):
        self.url, self.environ, self.context, self.data_dir = url, environ, context, data_dir
        self.origin = url  # what a browser on ComfyUI's own page sends

    def get(self, path, **kwargs):
        return requests.get(self.url + path, timeout=10, **kwargs)

    def send(self, method, path, body=None, headers=None):
        headers = {"Content-Type": "application/json", "Origin": self.origin, **(headers or {})}
        data = None if body is None else json.dumps(body)
        return requests.request(method, self.url + path, data=data, headers=headers, timeout=10)


@pytest.fixture
def routes(tmp_path):
    web = pytest.importorskip("aiohttp.web")
    environ: dict[str, str] = {}
    context = routes_module.RouteContext(state_dir=lambda: tmp_path / "user" / "__runcomfy", environ=environ,
                                         check_timeout=(2.0, 0.5))
    app = web.Application()
    app.add_routes(routes_module.make_routes(context))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield RoutesServer(f"http://127.0.0.1:{port}", environ, context, tmp_path / "user" / "__runcomfy")
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def api_requests(sandbox):
    return [r for r in sandbox.requests if r.path == MODEL_PATH]


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


# --- cross-origin and content type ----------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "null", "https://127.0.0.1"])
def test_cross_origin_requests_are_refused_on_every_route(routes, origin):
    for method, path in (("GET", "/runcomfy/kling3/token"), ("POST", "/runcomfy/kling3/token"),
                         ("DELETE", "/runcomfy/kling3/token"), ("POST", "/runcomfy/kling3/token/check"),
                         ("GET", "/runcomfy/kling3/pricing"), ("GET", "/runcomfy/kling3/eta?duration=5")):
        answer = routes.send(method, path, {"token": TOKEN} if method == "POST" else None, {"Origin": origin})
        assert answer.status_code == 403, (method, path, origin)
    assert not (routes.data_dir / "api_token").exists()


def test_fetch_metadata_cross_site_is_refused_even_without_origin(routes):
    answer = routes.get("/runcomfy/kling3/token", headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403


def test_same_origin_requests_pass(routes):
    assert routes.get("/runcomfy/kling3/token", headers={"Origin": routes.origin}).status_code == 200
    assert routes.send("POST", "/runcomfy/kling3/token", {"token": TOKEN}).status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_writes_need_a_json_content_type(routes, content_type):
    headers = {"Origin": routes.origin}
    if content_type:
        headers["Content-Type"] = content_type
    for method, path in (("POST", "/runcomfy/kling3/token"), ("DELETE", "/runcomfy/kling3/token"),
                         ("POST", "/runcomfy/kling3/token/check")):
        answer = requests.request(method, routes.url + path, data=json.dumps({"token": TOKEN}), headers=headers, timeout=10)
        assert answer.status_code == 415, (method, path)
    assert not (routes.data_dir / "api_token").exists()


@pytest.mark.parametrize("headers, refused", [
    ({}, False),
    ({"Host": "127.0.0.1:8188", "Origin": "http://127.0.0.1:8188"}, False),
    ({"Host": "comfy.example", "Origin": "https://comfy.example"}, False),
    ({"Host": "comfy.example:443", "Origin": "https://comfy.example"}, False),
    ({"Host": "Comfy.Example", "Origin": "https://comfy.example"}, False),
    ({"Host": "[::1]:8188", "Origin": "http://[::1]:8188"}, False),
    ({"Host": "127.0.0.1:8188", "Origin": "http://localhost:8188"}, True),
    ({"Host": "127.0.0.1:8188", "Origin": "http://127.0.0.1:8189"}, True),
    ({"Host": "comfy.example", "Origin": "http://comfy.example:8080"}, True),
    ({"Host": "127.0.0.1:8188", "Origin": "null"}, True),
    ({"Origin": "http://127.0.0.1:8188"}, True),
    ({"Host": "127.0.0.1:99999", "Origin": "http://127.0.0.1:99999"}, True),
    ({"Host": "127.0.0.1:8188", "Sec-Fetch-Site": "cross-site"}, True),
])
def test_origin_rule(headers, refused):
    assert routes_module.is_cross_origin(headers) is refused


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


# --- pricing --------------------------------------------------------------------------------------

def test_pricing_without_token_is_the_published_default(routes):
    assert routes.get("/runcomfy/kling3/pricing").json() == {
        "per_second_usd": 0.112, "per_second_with_sound_usd": 0.168, "source": "default"}


def test_pricing_comes_from_the_api_and_is_cached(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="sandbox-token")
    first = routes.get("/runcomfy/kling3/pricing").json()
    assert first == {"per_second_usd": 0.112, "per_second_with_sound_usd": 0.168, "source": "api"}
    assert routes.get("/runcomfy/kling3/pricing").json() == first
    assert len(api_requests(sandbox)) == 1


def test_pricing_falls_back_to_defaults_when_the_api_refuses(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="wrong-token")
    assert routes.get("/runcomfy/kling3/pricing").json()["source"] == "default"
    routes.get("/runcomfy/kling3/pricing")
    assert len(api_requests(sandbox)) == 1  # a failure is not retried on every page load


class _PricedApi(BaseHTTPRequestHandler):
    answer: dict = {}

    def do_GET(self):
        body = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_pricing_follows_changed_prices(routes):
    handler = type("Handler", (_PricedApi,), {"answer": {
        "base_price_usd": 0.2, "price_unit": "per_second", "pricing_note": "With audio: $0.35 per second."}})
    api = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        routes.environ.update(RUNCOMFY_API_BASE=f"http://127.0.0.1:{api.server_address[1]}",
                              RUNCOMFY_API_TOKEN="any-token")
        assert routes.get("/runcomfy/kling3/pricing").json() == {
            "per_second_usd": 0.2, "per_second_with_sound_usd": 0.35, "source": "api"}
    finally:
        api.shutdown()
        api.server_close()


@pytest.mark.parametrize("info, expected", [
    ({"base_price_usd": 0.112, "price_unit": "second", "pricing_note": "0.168 per second with sound"}, (0.112, 0.168)),
    ({"base_price_usd": "0.1", "price_unit": "second"}, (0.1, 0.15)),
    ({"data": {"base_price_usd": 0.1, "price_unit": "sec", "pricing_note": "$0.12/s with audio"}}, (0.1, 0.12)),
    ({"base_price_usd": 0.1, "pricing_note": "0.05 per second with sound"}, (0.1, 0.15)),  # implausible: ratio
    ({"base_price_usd": 0.1, "pricing_note": "0.3/s without sound"}, (0.1, 0.15)),
    ({"base_price_usd": 1.5, "price_unit": "video"}, None),
    ({"base_price_usd": None}, None),
    ({"base_price_usd": -1}, None),
    ("not a dict", None),
])
def test_parse_pricing(info, expected):
    assert pricing_module.parse_pricing(info) == expected


# --- time estimates -------------------------------------------------------------------------------

def test_eta_is_null_without_history_then_learnt(routes):
    assert routes.get("/runcomfy/kling3/eta?duration=5").json() == {"eta_s": None}
    times = routes.context.times()
    for seconds in (80, 120, 100):
        times.record(5, seconds)
    assert routes.get("/runcomfy/kling3/eta?duration=5").json() == {"eta_s": 100.0}
    assert routes.get("/runcomfy/kling3/eta?duration=10").json() == {"eta_s": None}


@pytest.mark.parametrize("query", ["", "?duration=", "?duration=abc", "?duration=2", "?duration=16"])
def test_eta_needs_a_valid_duration(routes, query):
    assert routes.get("/runcomfy/kling3/eta" + query).status_code == 400


# --- registration in ComfyUI ----------------------------------------------------------------------

def test_register_routes_adds_them_once_to_comfyuis_table(monkeypatch, tmp_path):
    web = pytest.importorskip("aiohttp.web")
    instance = types.SimpleNamespace(routes=web.RouteTableDef())
    server = types.ModuleType("server")
    server.PromptServer = type("PromptServer", (), {"instance": instance})
    monkeypatch.setitem(sys.modules, "server", server)
    routes_module.register_routes()
    routes_module.register_routes()
    registered = sorted((r.method, r.path) for r in instance.routes)
    assert registered == sorted([
        ("GET", "/runcomfy/kling3/token"), ("POST", "/runcomfy/kling3/token"), ("DELETE", "/runcomfy/kling3/token"),
        ("POST", "/runcomfy/kling3/token/check"), ("GET", "/runcomfy/kling3/pricing"),
        ("GET", "/runcomfy/kling3/eta")])


def test_register_routes_outside_comfyui_does_nothing(monkeypatch):
    web = pytest.importorskip("aiohttp.web")
    monkeypatch.setitem(sys.modules, "server", None)  # "import server" fails: outside ComfyUI
    assert routes_module.register_routes() is None
    # a server without its route table yet (ComfyUI still starting) gets nothing either ...
    instance = types.SimpleNamespace()
    server = types.ModuleType("server")
    server.PromptServer = type("PromptServer", (), {"instance": instance})
    monkeypatch.setitem(sys.modules, "server", server)
    routes_module.register_routes()
    assert vars(instance) == {}
    # ... and neither call left anything behind that would stop the real registration
    instance.routes = web.RouteTableDef()
    routes_module.register_routes()
    assert len(list(instance.routes)) == 6
