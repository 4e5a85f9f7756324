"""The pack's routes served by a real aiohttp server on 127.0.0.1, for the route tests
(test_server_routes.py, test_token_routes.py). Test modules import the ``routes`` fixture."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
import requests

from pack_loader import pack_module

routes_module = pack_module("nodes.server_routes")
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
                                         check_timeout=(2.0, 0.5),
                                         pricing=pack_module("core.kling.pricing").PricingCache())
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
