"""The routes behind the history panel and the budget settings, on a real aiohttp server, with
jobs made over real HTTP against the sandbox."""
from __future__ import annotations

import pytest

from pack_loader import pack_module
from pipeline_helpers import TOKEN, generate
from routes_server import routes  # noqa: F401 (fixture)

folder_module = pack_module("core.store.folder")
pipeline_module = pack_module("core.pipeline")
journal_module = pack_module("core.store.journal")


def pipeline_for(routes, sandbox):
    routes.environ.update(RUNCOMFY_API_BASE=sandbox.api_base, RUNCOMFY_API_TOKEN=TOKEN)
    return pipeline_module.Pipeline(folder_module.StateFolder(routes.data_dir), environ=routes.environ,
                                    poll_interval=0.05)


def test_history_lists_paid_jobs_newest_first_with_totals_and_no_machine_paths(routes, sandbox):
    pipeline = pipeline_for(routes, sandbox)
    first = generate(pipeline, sandbox, seed=1).video.request_id
    second = generate(pipeline, sandbox, seed=2).video.request_id
    answer = routes.get("/runcomfy/kling3/history").json()
    assert [line["request_id"] for line in answer["lines"]] == [second, first]
    line = answer["lines"][0]
    assert line["state"] == "done" and line["video_cached"] is True and "video_path" not in line
    assert line["estimate_usd"] == pytest.approx(0.504) and line["cost_usd"] == pytest.approx(0.504)
    assert answer["totals"]["today"]["spent_usd"] == pytest.approx(1.008)
    assert str(routes.data_dir) not in routes.get("/runcomfy/kling3/history").text
    assert routes.get(f"/runcomfy/kling3/history?limit=1&before={line['id']}").json()["lines"][0]["request_id"] == first


def test_the_cached_video_of_a_line_plays_from_its_route(routes, sandbox):
    result = generate(pipeline_for(routes, sandbox), sandbox)
    answer = routes.get(f"/runcomfy/kling3/video?request_id={result.video.request_id}")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "video/mp4"
    assert answer.content == result.video.path.read_bytes()
    assert routes.get("/runcomfy/kling3/video?request_id=../../etc/passwd").status_code == 400
    assert routes.get("/runcomfy/kling3/video?request_id=unknown-id").status_code == 404


def test_an_unknown_outcome_is_resolved_with_the_request_id_found_or_as_never_created(routes, sandbox):
    pipeline = pipeline_for(routes, sandbox)
    sandbox.faults.add("submit", "drop_after_accept")
    with pytest.raises(pack_module("core.errors").SubmissionOutcomeUnknownError):
        generate(pipeline, sandbox)
    line = routes.get("/runcomfy/kling3/history").json()["lines"][0]
    assert line["state"] == "unknown outcome"
    found = sandbox.submissions_ids[0]
    resolved = routes.send("POST", "/runcomfy/kling3/history/resolve", {"id": line["id"], "request_id": found})
    assert resolved.json()["line"]["state"] == "generating"
    assert generate(pipeline, sandbox).video.request_id == found  # re-attached, not paid again
    assert len(sandbox.submissions) == 1
    again = routes.send("POST", "/runcomfy/kling3/history/resolve", {"id": line["id"], "request_id": None})
    assert again.status_code == 404  # only unknown outcomes can be resolved
    bad = routes.send("POST", "/runcomfy/kling3/history/resolve", {"id": line["id"], "request_id": "../x"})
    assert bad.status_code == 400


def test_budgets_saved_from_settings_and_the_environment_wins(routes):
    saved = routes.send("POST", "/runcomfy/kling3/budget", {"daily_usd": 5, "monthly_usd": "40", "keep_days": 30})
    assert saved.json()["budgets"] == {"daily": {"usd": 5.0, "source": "settings"},
                                       "monthly": {"usd": 40.0, "source": "settings"}}
    assert saved.json()["keep_days"] == 30 and saved.json()["keep_days_source"] is None
    routes.environ["RUNCOMFY_KLING3_DAILY_BUDGET_USD"] = "2.5"
    assert routes.get("/runcomfy/kling3/budget").json()["budgets"]["daily"] == {
        "usd": 2.5, "source": "RUNCOMFY_KLING3_DAILY_BUDGET_USD"}
    routes.environ["RUNCOMFY_KLING3_KEEP_DAYS"] = "7"
    kept = routes.get("/runcomfy/kling3/budget").json()
    assert (kept["keep_days"], kept["keep_days_source"]) == (7, "RUNCOMFY_KLING3_KEEP_DAYS")
    cleared = routes.send("POST", "/runcomfy/kling3/budget", {"monthly_usd": None}).json()
    assert cleared["budgets"]["monthly"] == {"usd": None, "source": None}
    refused = routes.send("POST", "/runcomfy/kling3/budget", {"daily_usd": -1})
    assert refused.status_code == 400 and "daily_usd" in refused.json()["error"]
