"""The RunComfy client over real loopback HTTP against the sandbox, with faults injected:
submitting, the token and address, account and input errors, retries, and never paying twice
for one submit (waiting for the job: test_client_waiting.py)."""
from __future__ import annotations

import socket
import threading

import pytest

from client_helpers import BODY, MODEL, TOKEN, client_mod, config, make_client, submits
from pack_loader import pack_module

errors = pack_module("core.errors")


def test_submit_wait_reports_each_change_and_returns_the_video(sandbox):
    sandbox.settings.queue_position_start = 2
    updates = []
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        result = handle.wait(updates.append, poll_interval=0.05)
    assert result.request_id == handle.request_id
    assert result.video_url.startswith(sandbox.files_base)
    phases = [u.status.phase for u in updates]
    assert phases[0] == "queued" and "generating" in phases and phases[-1] == "completed"
    assert all(u.request_id == handle.request_id for u in updates)
    assert [u.elapsed_s for u in updates] == sorted(u.elapsed_s for u in updates)
    positions = [u.status.position for u in updates if u.status.phase == "queued"]
    assert positions == sorted(positions, reverse=True) and len(set(positions)) == len(positions)
    for r in sandbox.requests:
        assert r.headers.get("Authorization") == f"Bearer {TOKEN}"
    assert result.cost_usd == pytest.approx(3 * 0.112)


def test_missing_token_fails_before_any_request(sandbox, monkeypatch):
    env = {"RUNCOMFY_API_BASE": sandbox.api_base}
    with pytest.raises(errors.MissingTokenError) as info:
        client_mod.RunComfyClient.from_env(environ=env)
    assert "RUNCOMFY_API_TOKEN" in str(info.value) and "runcomfy.com" in str(info.value)
    assert sandbox.requests == []


def test_token_precedence_and_base_url_from_environment(sandbox):
    env = {"RUNCOMFY_API_BASE": sandbox.api_base, "RUNCOMFY_TOKEN": "sandbox-token-2",
           "RUNCOMFY_API_TOKEN": TOKEN}
    with client_mod.RunComfyClient.from_env(environ=env) as client:
        client.submit(MODEL, BODY)
    assert submits(sandbox)[0].headers["Authorization"] == f"Bearer {TOKEN}"
    env.pop("RUNCOMFY_API_TOKEN")
    assert client_mod.RunComfyClient.from_env(environ=env).settings.token == "sandbox-token-2"


@pytest.mark.parametrize("url", ["http://example.com", "ftp://127.0.0.1", "http://10.0.0.5:8000"])
def test_plain_http_only_for_loopback(url):
    with pytest.raises(errors.ConfigurationError, match="RUNCOMFY_API_BASE"):
        config.check_base_url(url)
    assert config.check_base_url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"
    assert config.check_base_url("http://localhost:1").startswith("http://localhost")


@pytest.mark.parametrize("token, error", [("wrong-token", "AuthenticationError"),
                                          ("sandbox-no-balance", "InsufficientBalanceError")])
def test_account_errors_on_submit(sandbox, token, error):
    with make_client(sandbox, token=token) as client, pytest.raises(getattr(errors, error)) as info:
        client.submit(MODEL, BODY)
    assert token not in str(info.value)
    assert len(submits(sandbox)) == 1


def test_input_rejected_lists_the_servers_detail(sandbox):
    with make_client(sandbox) as client, pytest.raises(errors.InputRejectedError) as info:
        client.submit(MODEL, dict(BODY, duration=99, colour="blue"))
    text = str(info.value)
    assert "duration" in text and "colour" in text


def test_unknown_model(sandbox):
    with make_client(sandbox) as client, pytest.raises(errors.UnknownModelError):
        client.submit("kling/nope", BODY)


def test_unknown_and_foreign_request_ids(sandbox):
    with make_client(sandbox) as client:
        with pytest.raises(errors.RequestNotFoundError) as info:
            client.handle("no-such-id").status()
        assert "no-such-id" in str(info.value)
        handle = client.submit(MODEL, BODY)
    with make_client(sandbox, token="sandbox-token-2") as other:
        with pytest.raises(errors.PermissionDeniedError) as info:
            other.handle(handle.request_id).status()
    assert handle.request_id in str(info.value)


def test_expired_request_names_its_id(sandbox):
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        sandbox.expire(handle.request_id)
        with pytest.raises(errors.RequestNotFoundError) as info:
            handle.wait(poll_interval=0.05)
    assert handle.request_id in str(info.value)


def test_submit_429_is_retried_after_retry_after(sandbox):
    sandbox.faults.add("submit", "http_429", count=2, retry_after=1)
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
    sent = submits(sandbox)
    assert len(sent) == 3 and len(sandbox.submissions) == 1
    assert sent[1].time - sent[0].time >= 0.9 and sent[2].time - sent[1].time >= 0.9
    assert handle.request_id


def test_persistent_429_becomes_rate_limited_error(sandbox):
    sandbox.faults.add("submit", "http_429", count=10, retry_after=0)
    with make_client(sandbox, attempts=2) as client, pytest.raises(errors.RateLimitedError):
        client.submit(MODEL, BODY)
    assert len(submits(sandbox)) == 3 and sandbox.submissions == []


def test_submit_503_is_retried(sandbox):
    sandbox.faults.add("submit", "http_503", count=1)
    with make_client(sandbox) as client:
        client.submit(MODEL, BODY)
    assert len(submits(sandbox)) == 2 and len(sandbox.submissions) == 1


@pytest.mark.parametrize("fault", ["http_500", "http_502", "error_code_200"])
def test_other_server_errors_on_submit_are_ambiguous_and_not_resent(sandbox, fault):
    # a gateway error may come after the API accepted the job: never re-send, never say "no job"
    sandbox.faults.add("submit", fault, count=1)
    with make_client(sandbox) as client, pytest.raises(errors.SubmissionOutcomeUnknownError):
        client.submit(MODEL, BODY)
    assert len(submits(sandbox)) == 1


@pytest.mark.parametrize("token", ["abc\ndef", "••••abcd", "two words"])
def test_an_unsendable_token_fails_before_any_request_without_showing_it(sandbox, token):
    env = {"RUNCOMFY_API_BASE": sandbox.api_base, "RUNCOMFY_API_TOKEN": token}
    with pytest.raises(errors.ConfigurationError) as info:
        client_mod.RunComfyClient.from_env(environ=env)
    assert "RUNCOMFY_API_TOKEN" in str(info.value) and token not in str(info.value)
    with pytest.raises(errors.ConfigurationError) as info:
        make_client(sandbox, token=token)  # settings built by hand are checked too
    assert token not in str(info.value) and "abc" not in str(info.value)
    assert sandbox.requests == []


def test_a_failed_tls_handshake_means_nothing_was_sent(sandbox):
    # https to a plain-http port: the handshake fails before any byte of the body goes out
    settings = config.ApiSettings(base_url=sandbox.api_base.replace("http://", "https://"), token=TOKEN)
    with client_mod.RunComfyClient(settings, attempts=0) as client, pytest.raises(errors.ApiUnreachableError):
        client.submit(MODEL, BODY)
    assert sandbox.submissions == []


def test_an_unreachable_proxy_means_nothing_was_sent(sandbox, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    with make_client(sandbox, attempts=0) as client, pytest.raises(errors.ApiUnreachableError):
        client.submit(MODEL, BODY)
    assert sandbox.requests == []


@pytest.mark.parametrize("fault", ["drop", "drop_after_accept", "malformed_json"])
def test_ambiguous_submit_is_never_resent(sandbox, fault):
    sandbox.faults.add("submit", fault, count=1)
    with make_client(sandbox) as client, pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        client.submit(MODEL, BODY)
    assert len(submits(sandbox)) == 1
    assert "history" in str(info.value)


def test_submit_read_timeout_is_ambiguous_and_not_resent(sandbox):
    sandbox.faults.add("submit", "slow", count=1, delay=2.0)
    with make_client(sandbox) as client:
        client.submit_timeout = (5.0, 0.5)
        with pytest.raises(errors.SubmissionOutcomeUnknownError):
            client.submit(MODEL, BODY)
    assert len(submits(sandbox)) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_retried_until_the_api_is_up(sandbox_factory):
    port = free_port()
    settings = config.ApiSettings(base_url=f"http://127.0.0.1:{port}", token=TOKEN)
    late = sandbox_factory(api_port=port)
    starter = threading.Timer(0.8, late.start)
    starter.start()
    try:
        with client_mod.RunComfyClient(settings, attempts=6) as client:
            handle = client.submit(MODEL, BODY)
        assert late.submissions_ids == [handle.request_id]
    finally:
        starter.join()
        late.stop()


def test_api_down_is_unreachable_not_ambiguous():
    settings = config.ApiSettings(base_url=f"http://127.0.0.1:{free_port()}", token=TOKEN)
    with client_mod.RunComfyClient(settings, attempts=1) as client, \
            pytest.raises(errors.ApiUnreachableError, match="nothing was charged"):
        client.submit(MODEL, BODY)
