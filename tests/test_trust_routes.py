"""The settings routes under attack, over real HTTP (the server: routes_server.py): DNS rebinding
while ComfyUI listens on loopback only, a JSON nesting bomb, a slow disk under the token's fsync,
and advice for a refused token that names the source actually in use."""
from __future__ import annotations

import os
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from pack_loader import pack_module
from pipeline_helpers import make_pipeline, small_request
from routes_server import TOKEN, routes, routes_module  # noqa: F401 (fixture)

guards = pack_module("nodes.route_guards")
bridge = pack_module("nodes.comfy_bridge")
client_module = pack_module("core.api.client")
settings_module = pack_module("core.api.settings")
errors = pack_module("core.errors")
selection_module = pack_module("core.media.selection")
status_module = pack_module("core.status")
MODEL_ID = pack_module("core.kling.request").MODEL_ID

EVERY_ROUTE = (("GET", "/runcomfy/kling3/token"), ("POST", "/runcomfy/kling3/token"),
               ("DELETE", "/runcomfy/kling3/token"), ("POST", "/runcomfy/kling3/token/check"),
               ("GET", "/runcomfy/kling3/pricing"), ("GET", "/runcomfy/kling3/eta?duration=5"))
SAVED = "rc_saved_token_0000SAVE"
REFUSED = "not-a-sandbox-token"
SETTINGS_ADVICE = "paste it in Settings \u2192 RunComfy"


def as_site(routes, host: str, method: str, path: str, body=None):
    """A request from a page on ``host`` (same-origin with itself) that reached this server."""
    return routes.send(method, path, body, {"Host": host, "Origin": f"http://{host}"})


# --- 10. DNS rebinding ----------------------------------------------------------------------------

def test_dns_rebinding_page_cannot_replace_or_delete_the_saved_token(routes):
    assert routes.send("POST", "/runcomfy/kling3/token", {"token": SAVED}).status_code == 200
    for method, path in EVERY_ROUTE:
        answer = as_site(routes, "rebind.example:8188", method, path,
                         {"token": "attacker-token-1234"} if method == "POST" else None)
        assert answer.status_code == 403, (method, path)
        assert "rebind" in answer.json()["error"] or "loopback" in answer.json()["error"]
    assert (routes.data_dir / "api_token").read_text().strip() == SAVED


@pytest.mark.parametrize("host", ["127.0.0.1.rebind.example:8188", "localhost.rebind.example", "rebind.example",
                                  "192.168.1.20:8188", "0.0.0.0:8188"])
def test_dns_rebinding_refused_for_any_non_loopback_host_name(routes, host):
    assert as_site(routes, host, "POST", "/runcomfy/kling3/token", {"token": "attacker-token-1234"}).status_code == 403
    assert not (routes.data_dir / "api_token").exists()


@pytest.mark.parametrize("host", ["localhost:8188", "LocalHost", "127.0.0.1", "127.1.2.3:8188", "[::1]:8188", "[::1]"])
def test_dns_rebinding_guard_lets_loopback_names_through(routes, host):
    assert as_site(routes, host, "POST", "/runcomfy/kling3/token", {"token": SAVED}).status_code == 200


@pytest.mark.parametrize("listen", [("0.0.0.0",), ("0.0.0.0", "::"), ("127.0.0.1", "192.168.1.20"), ("",)])
def test_dns_rebinding_guard_is_off_when_comfyui_listens_beyond_loopback(routes, listen):
    routes.context.listen = listen  # a remote or hosted machine: any name may be the right one
    assert as_site(routes, "comfy.example:8188", "POST", "/runcomfy/kling3/token", {"token": SAVED}).status_code == 200
    # ... and the origin check stays as it is
    cross = routes.send("DELETE", "/runcomfy/kling3/token", None,
                        {"Host": "comfy.example:8188", "Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert (routes.data_dir / "api_token").exists()


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("localhost:8188", True), ("127.0.0.1:8188", True), ("127.255.0.9", True),
    ("[::1]:8188", True), ("[::1]", True),
    ("rebind.example:8188", False), ("127.0.0.1.rebind.example", False), ("localhost.", False),
    ("::1", False), ("evil@127.0.0.1", False), ("127.0.0.1:80/x", False), ("127.1", False),
    ("[::ffff:c0a8:114]", False), ("", False), (None, False),
])
def test_dns_rebinding_host_rule(host, loopback):
    assert guards.is_loopback_host_header(host) is loopback


@pytest.mark.parametrize("listen, expected", [
    ("127.0.0.1", ("127.0.0.1",)), ("0.0.0.0,::", ("0.0.0.0", "::")),
    ("127.2.2.2, 127.3.3.3", ("127.2.2.2", "127.3.3.3")), (None, ("127.0.0.1",)),
])
def test_dns_rebinding_guard_reads_comfyuis_listen_addresses(monkeypatch, tmp_path, listen, expected):
    cli_args = types.ModuleType("comfy.cli_args")
    cli_args.args = types.SimpleNamespace(listen=listen)
    monkeypatch.setitem(sys.modules, "comfy", types.ModuleType("comfy"))
    monkeypatch.setitem(sys.modules, "comfy.cli_args", cli_args)
    assert bridge.listen_addresses() == expected
    context = routes_module.RouteContext(state_dir=lambda: tmp_path)  # as register_routes makes it
    assert context.loopback_only() is all(a.startswith("127.") for a in expected)


def test_dns_rebinding_guard_outside_comfyui_assumes_loopback(monkeypatch):
    monkeypatch.setitem(sys.modules, "comfy.cli_args", None)  # "import comfy.cli_args" fails
    assert bridge.listen_addresses() == ("127.0.0.1",)
    assert routes_module.RouteContext(listen=["::1"]).loopback_only()
    assert not routes_module.RouteContext(listen=["::"]).loopback_only()


# --- 11. bad bodies and a slow disk ---------------------------------------------------------------

@pytest.mark.parametrize("bomb", ["[" * 15000, '{"token": ' * 1500, '{"token": [' + "[" * 10000 + "]}"])
def test_json_nesting_bomb_on_the_token_route_is_a_400_not_a_500(routes, bomb):
    answer = requests.post(routes.url + "/runcomfy/kling3/token", data=bomb, timeout=10,
                           headers={"Content-Type": "application/json", "Origin": routes.origin})
    assert answer.status_code == 400
    assert len(answer.text) < 200 and "Traceback" not in answer.text and "Recursion" not in answer.text
    assert not (routes.data_dir / "api_token").exists()


@pytest.mark.parametrize("raw", [b"\xff\xfe{", b'{"token": "\xc3"}', b"1e999999", b'"\\ud800"'])
def test_token_route_bodies_that_are_not_json_objects_are_a_400(routes, raw):
    answer = requests.post(routes.url + "/runcomfy/kling3/token", data=raw, timeout=10,
                           headers={"Content-Type": "application/json", "Origin": routes.origin})
    assert answer.status_code == 400


@pytest.fixture
def stuck_fsync(monkeypatch):
    """``os.fsync`` blocks until the test releases it: a disk that takes its time (no clock)."""
    entered, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd):
        entered.set()
        release.wait(60)
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    yield entered, release
    release.set()


@pytest.mark.skipif(os.name != "posix", reason="deleting fsyncs the folder only on POSIX")
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_token_fsync_on_a_slow_disk_does_not_freeze_other_requests(routes, request, method):
    routes.context.times().record(5, 90)
    if method == "DELETE":
        assert routes.send("POST", "/runcomfy/kling3/token", {"token": SAVED}).status_code == 200
    entered, release = request.getfixturevalue("stuck_fsync")
    with ThreadPoolExecutor(1) as pool:
        writing = pool.submit(routes.send, method, "/runcomfy/kling3/token", {"token": TOKEN} if method == "POST" else None)
        try:
            assert entered.wait(30), "the token write never reached its fsync"
            # ComfyUI's other requests are answered while the write still waits for the disk
            assert routes.get("/runcomfy/kling3/eta?duration=5").json() == {"eta_s": 90.0}
            assert routes.get("/runcomfy/kling3/token").status_code == 200
            assert not writing.done()
        finally:
            release.set()
        assert writing.result().status_code == 200
    assert (routes.data_dir / "api_token").exists() is (method == "POST")


# --- UI 2. advice names the token source in use ---------------------------------------------------

def test_refused_saved_token_check_advises_settings_not_the_variable(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN="sandbox-token")
    routes.send("POST", "/runcomfy/kling3/token", {"token": REFUSED})
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer["result"] == "invalid"
    assert "saved in Settings" in answer["detail"] and SETTINGS_ADVICE in answer["detail"]
    assert "RUNCOMFY_API_TOKEN" not in answer["detail"] and REFUSED not in answer["detail"]


@pytest.mark.parametrize("variable", ["RUNCOMFY_API_TOKEN", "RUNCOMFY_TOKEN"])
def test_refused_environment_token_check_names_its_variable(routes, sandbox, variable):
    routes.environ.update({"RUNCOMFY_API_BASE": sandbox.api_base, variable: REFUSED})
    answer = routes.send("POST", "/runcomfy/kling3/token/check", {}).json()
    assert answer["result"] == "invalid"
    assert f"set {variable} to it" in answer["detail"] and REFUSED not in answer["detail"]


@pytest.mark.parametrize("source", ["settings", "RUNCOMFY_API_TOKEN", "RUNCOMFY_TOKEN"])
@pytest.mark.parametrize("call", ["model_info", "submit"])
def test_refused_token_error_names_the_source_in_use(sandbox, source, call):
    environ = {"RUNCOMFY_API_BASE": sandbox.api_base}
    if source == "settings":
        environ["RUNCOMFY_API_TOKEN"] = "sandbox-token"  # valid, but the saved token comes first
    else:
        environ[source] = REFUSED
    settings = settings_module.load_settings(REFUSED if source == "settings" else None, environ)
    with client_module.RunComfyClient(settings, attempts=0) as client, \
            pytest.raises(errors.AuthenticationError) as caught:
        client.model_info(MODEL_ID) if call == "model_info" else client.submit(MODEL_ID, {"prompt": "a fox"})
    text = str(caught.value)
    if source == "settings":
        assert "saved in Settings" in text and SETTINGS_ADVICE in text and "RUNCOMFY_" not in text
    else:
        assert f"from {source}" in text and f"set {source} to it" in text


def test_refused_saved_token_error_of_a_generation_advises_settings(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)  # RUNCOMFY_API_TOKEN is set and valid
    pipeline.state.tokens().save(REFUSED)
    with pytest.raises(errors.AuthenticationError) as caught:
        pipeline.generate(small_request(), selection_module.FrameSelection(), pipeline.api_settings(), seed=1,
                          progress=status_module.Progress())
    assert SETTINGS_ADVICE in str(caught.value) and "RUNCOMFY_API_TOKEN" not in str(caught.value)
