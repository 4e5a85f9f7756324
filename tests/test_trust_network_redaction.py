"""Trust under attack, item 7: API text that echoes the token (or carries URL credentials and
signed queries) never reaches an exception, a log line or a status text unredacted.

Each attack is played over real HTTP: the sandbox's ``echo_token`` fault and hostile failure
reasons, or a small hostile server where the sandbox cannot produce the answer."""
from __future__ import annotations

import http.server
import logging
import socket
import threading
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

import pytest

from pack_loader import pack_module
from pipeline_helpers import generate, make_pipeline

client_module = pack_module("core.api.client")
settings_module = pack_module("core.api.settings")
download = pack_module("core.media.download")
errors = pack_module("core.errors")
redaction = pack_module("core.redaction")

TOKEN = "sandbox-token"
#: a token with characters that change when URL-encoded, for the encoded echoes
ODD_TOKEN = "rc_live/Se+cr3t=Tok~en"
PASSWORD = "hunter2-pw"
SIGNATURE = "SIGNATURE-SECRET-123"


def make_client(base_url, token=TOKEN, attempts=1):
    return client_module.RunComfyClient(settings_module.ApiSettings(base_url=base_url, token=token),
                                        attempts=attempts)


def assert_clean(text, *secrets):
    for secret in (TOKEN, PASSWORD, SIGNATURE, *secrets):
        assert secret not in text, f"{secret!r} leaked into {text!r}"


def all_log_text(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


@contextmanager
def hostile_api(answer):
    """An API on loopback whose every answer is ``answer(authorization_header) -> (status,
    content_type, body)``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            status, kind, body = answer(self.headers.get("Authorization") or "")
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- errors built from echoed answers ------------------------------------------------------------

@pytest.mark.parametrize("route,call", [("submit", lambda c: c.submit("kling/kling-3.0/pro/text-to-video", {})),
                                        ("model", lambda c: c.model_info("kling/kling-3.0/pro/text-to-video"))])
def test_item7_token_echoed_in_a_401_is_not_in_the_authentication_error(sandbox, route, call):
    sandbox.faults.add(route, "echo_token", status=401, body="json")
    with make_client(sandbox.api_base) as client, pytest.raises(errors.AuthenticationError) as info:
        call(client)
    assert "rejected Authorization" in str(info.value)       # the API's text is still shown
    assert_clean(str(info.value))
    assert_clean(info.value.reason)


def test_item7_token_echoed_in_a_422_is_not_in_the_input_rejected_error(sandbox):
    sandbox.faults.add("submit", "echo_token", status=422, body="json")
    with make_client(sandbox.api_base) as client, pytest.raises(errors.InputRejectedError) as info:
        client.submit("kling/kling-3.0/pro/text-to-video", {})
    assert "Authorization" in str(info.value)
    assert_clean(str(info.value))
    assert_clean(str(info.value.detail))


@pytest.mark.parametrize("echo", [lambda auth: f"upstream rejected Authorization: {auth}",
                                  lambda auth: f"<p>Authorization%3A+{quote_plus(auth)}</p>",
                                  lambda auth: f"token={quote(auth.split()[-1], safe='')}"])
def test_item7_token_echoed_in_a_non_json_answer_is_not_in_the_protocol_error(echo):
    with hostile_api(lambda auth: (200, "text/html", echo(auth))) as base, make_client(base, ODD_TOKEN) as client:
        with pytest.raises(errors.ProtocolError) as info:
            client.call("GET", "/v1/requests/abc/status", request_id="abc")
    text = str(info.value)
    assert "not a JSON object" in text
    assert_clean(text, ODD_TOKEN, quote(ODD_TOKEN, safe=""), quote_plus(ODD_TOKEN))


def test_item7_token_echoed_as_a_job_status_is_not_in_the_protocol_error():
    body = lambda auth: (200, "application/json", f'{{"status": "weird {auth} https://u:{PASSWORD}@x.net/a?s={SIGNATURE}"}}')
    with hostile_api(body) as base, make_client(base, ODD_TOKEN) as client:
        with pytest.raises(errors.ProtocolError) as info:
            client.handle("abc").status()
    assert_clean(str(info.value), ODD_TOKEN)


def test_item7_failure_reason_with_token_userinfo_and_signed_query_is_redacted(sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.settings.job_outcome = "failed"
    sandbox.settings.failure_error_in = "both"
    sandbox.settings.failure_error = {"message": f"worker sent Authorization: Bearer {TOKEN} to "
                                                f"https://admin:{PASSWORD}@logs.example.net/job.mp4"
                                                f"?X-Amz-Signature={SIGNATURE}"}
    with pytest.raises(errors.JobFailedError) as info:
        generate(make_pipeline(tmp_path, sandbox), sandbox)
    text = str(info.value)   # what the node shows as its status text
    assert "https://logs.example.net/job.mp4" in text and "worker sent Authorization" in text
    assert_clean(text)
    assert_clean(all_log_text(caplog))


def test_item7_failed_status_checks_log_no_echoed_token(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.faults.add("status", "echo_token", count=4, status=500, body="json")
    with make_client(sandbox.api_base) as client:
        result = client.submit("kling/kling-3.0/pro/text-to-video",
                               {"prompt": "a fox", "duration": 3, "aspect_ratio": "16:9"}).wait(poll_interval=0.05)
    assert result.video_url
    warnings = [r.getMessage() for r in caplog.records if "Status check" in r.getMessage()]
    assert warnings and all("rejected Authorization" in w for w in warnings)
    assert_clean(all_log_text(caplog))


def test_item7_signed_query_of_a_result_url_reaches_no_log_line_and_no_error(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:                 # a port nobody listens on: urllib3 retries
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/files/x.mp4?X-Amz-Signature={SIGNATURE}&token={TOKEN}"
    with pytest.raises(errors.DownloadError) as info:
        download.download_file(url, tmp_path / "v.mp4", max_attempts=2, backoff_s=0.01, request_id="req-1")
    assert any("Retrying" in r.getMessage() for r in caplog.records)   # urllib3 did log the request
    assert_clean(str(info.value))
    assert_clean(all_log_text(caplog))


# --- the API base -------------------------------------------------------------------------------

@pytest.mark.parametrize("base", [f"http://user:{PASSWORD}@example.com", f"https://user:{PASSWORD}@example.com",
                                  f"http://user:{PASSWORD}@127.0.0.1:9", f"ftp://user:{PASSWORD}@example.com",
                                  f"https://user:{PASSWORD}@[::1", f"https://example.com?key={PASSWORD}"])
def test_item7_api_base_with_a_password_is_refused_without_showing_it(base):
    with pytest.raises(errors.ConfigurationError) as info:
        settings_module.load_settings(environ={"RUNCOMFY_API_BASE": base, "RUNCOMFY_API_TOKEN": TOKEN})
    assert "RUNCOMFY_API_BASE" in str(info.value)
    assert_clean(str(info.value))


def test_item7_network_text_removes_every_form_of_the_secrets():
    text = (f"Bearer {ODD_TOKEN} | {quote(ODD_TOKEN, safe='')} | {quote_plus(ODD_TOKEN)} | "
            f"bearer%20other-token | https://u:{PASSWORD}@h.net/v.mp4?sig={SIGNATURE}#frag | " + "x" * 1000)
    shown = redaction.network_text(text, ODD_TOKEN)
    assert_clean(shown, ODD_TOKEN, quote(ODD_TOKEN, safe=""), quote_plus(ODD_TOKEN), "other-token")
    assert "https://h.net/v.mp4" in shown and len(shown) <= redaction.MAX_NETWORK_CHARS
