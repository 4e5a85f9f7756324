"""The pack's routes on ComfyUI's server, served by a real aiohttp server on 127.0.0.1: the
refusal of cross-origin requests, prices, time estimates, and registration in ComfyUI (the token
routes: test_token_routes.py; the server: routes_server.py)."""
from __future__ import annotations

import json
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from pack_loader import pack_module
from routes_server import TOKEN, api_requests, routes, routes_module  # noqa: F401 (fixture)

pricing_module = pack_module("core.kling.pricing")
guards_module = pack_module("nodes.route_guards")


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
    assert guards_module.is_cross_origin(headers) is refused


# --- pricing --------------------------------------------------------------------------------------

def test_pricing_without_token_is_the_published_default(routes):
    answer = routes.get("/runcomfy/kling3/pricing").json()
    assert answer == pricing_module.PUBLISHED
    assert answer["source"] == "default" and answer["as_of"] and "kling-3.0/pro" in answer["reference"]


def test_pricing_comes_from_the_api_and_is_cached(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="sandbox-token")
    first = routes.get("/runcomfy/kling3/pricing").json()
    assert prices_of(first) == (0.112, 0.168, "api") and sandbox.api_base in first["reference"]
    assert routes.get("/runcomfy/kling3/pricing").json() == first
    assert len(api_requests(sandbox)) == 1


def test_pricing_falls_back_to_defaults_when_the_api_refuses(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="wrong-token")
    assert routes.get("/runcomfy/kling3/pricing").json()["source"] == "default"
    routes.get("/runcomfy/kling3/pricing")
    assert len(api_requests(sandbox)) == 1  # a failure is not retried on every page load


def prices_of(answer: dict) -> tuple:
    return answer["per_second_usd"], answer["per_second_with_sound_usd"], answer["source"]


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
        assert prices_of(routes.get("/runcomfy/kling3/pricing").json()) == (0.2, 0.35, "api")
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
        ("GET", "/runcomfy/kling3/eta"), ("GET", "/runcomfy/kling3/history"),
        ("POST", "/runcomfy/kling3/history/resolve"), ("GET", "/runcomfy/kling3/budget"),
        ("POST", "/runcomfy/kling3/budget"), ("GET", "/runcomfy/kling3/video")])


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
    assert len(list(instance.routes)) == 11
