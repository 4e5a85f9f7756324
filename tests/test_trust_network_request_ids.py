"""Trust under attack, item 9: request ids from the API are checked before any use.

An id such as ``../../x`` or ``x?include_cost=false#`` in a submit or result answer would put
the token on another path of the API host. The sandbox answers them over real HTTP
(``submit_request_id``, ``result_request_id``); the pack refuses them with the same rule as the
Fetch Result node's input, and never puts them in a URL."""
from __future__ import annotations

import pytest

from pack_loader import pack_module
from pipeline_helpers import api_calls, generate, make_pipeline

client_module = pack_module("core.api.client")
settings_module = pack_module("core.api.settings")
handle_module = pack_module("core.api.handle")
errors = pack_module("core.errors")

MODEL = "kling/kling-3.0/pro/text-to-video"
BODY = {"prompt": "a red fox runs through snow", "duration": 3, "aspect_ratio": "16:9"}
TOKEN = "sandbox-token"
HOSTILE_IDS = ["../../x", "x?include_cost=false#", "x/../../v1/models/y", "abc\n", "abc def", "a" * 129,
               "%2e%2e%2fx", "x#frag", "\u0430bc"]


def make_client(sandbox, attempts=1):
    return client_module.RunComfyClient(settings_module.ApiSettings(base_url=sandbox.api_base, token=TOKEN),
                                        attempts=attempts)


def only_known_paths(sandbox, request_id=None):
    """True when every API request went to the submit route or to the job's real id."""
    allowed = ("/v1/models/",) + ((f"/v1/requests/{request_id}/",) if request_id else ())
    return all(call.path.startswith(allowed) and not call.query.startswith("include_cost=false")
               for call in api_calls(sandbox))


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_item9_hostile_id_in_the_submit_answer_is_never_used(sandbox, hostile):
    sandbox.settings.submit_request_id = hostile
    with make_client(sandbox) as client, pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        client.submit(MODEL, BODY)
    text = str(info.value)
    assert "malformed request id" in text
    assert "\n" not in text and len(text) < 1000
    if len(repr(hostile)) < 40:
        assert repr(hostile) in text          # shown escaped
    assert [call.path for call in api_calls(sandbox)] == [f"/v1/models/{MODEL}"]


def test_item9_hostile_submit_id_never_reaches_the_api_through_the_pipeline(sandbox, tmp_path):
    sandbox.settings.submit_request_id = "x?include_cost=false#"
    with pytest.raises(errors.SubmissionOutcomeUnknownError):
        generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert only_known_paths(sandbox)
    assert len(sandbox.submissions_ids) == 1
    # running again does not submit (and pay) a second time: the outcome is unknown
    with pytest.raises(errors.RunComfyError):
        generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert len(sandbox.submissions_ids) == 1
    assert only_known_paths(sandbox)


def test_item9_long_hostile_id_is_shown_short_and_escaped(sandbox):
    sandbox.settings.submit_request_id = "../" * 200 + "\r\nSet-Cookie: x"
    with make_client(sandbox) as client, pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        client.submit(MODEL, BODY)
    reason = info.value.reason
    assert "\r" not in reason and "\n" not in reason and reason.count("../") < 20


@pytest.mark.parametrize("hostile", ["../../x", "x?include_cost=false#", "another-request-id"])
def test_item9_result_answer_with_another_or_hostile_id_is_a_protocol_error(sandbox, hostile):
    sandbox.settings.result_request_id = hostile
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        with pytest.raises(errors.ProtocolError) as info:
            handle.wait(poll_interval=0.01)
    assert info.value.request_id == handle.request_id
    assert "request" in info.value.reason and "\n" not in info.value.reason
    assert only_known_paths(sandbox, handle.request_id)


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_item9_a_handle_refuses_a_malformed_id_before_any_request(sandbox, hostile):
    with make_client(sandbox) as client, pytest.raises(errors.ProtocolError):
        client.handle(hostile)
    assert api_calls(sandbox) == []


def test_item9_one_rule_for_the_api_and_the_fetch_result_node():
    fetch_node = pack_module("nodes.fetch_result_node")
    for good in ["739ce6e0-00c8-44e6-8564-755087ea89c1", "a", "A_b-9", "a" * 128]:
        assert handle_module.is_request_id(good)
        assert fetch_node.checked_request_id(f" {good} ") == good
    for bad in HOSTILE_IDS + ["", None, 5]:
        assert not handle_module.is_request_id(bad)
        if bad not in ("abc\n",):            # the node strips surrounding whitespace first
            with pytest.raises(errors.InvalidInputError):
                fetch_node.checked_request_id(bad)
    assert not hasattr(fetch_node, "_REQUEST_ID")
