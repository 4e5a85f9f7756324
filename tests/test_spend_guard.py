"""Money you can see and cap: the spend guard refuses before anything is sent, holds across
processes, counts a crashed reservation, and the ledger keeps what each paid job cost. Torch-free,
over real HTTP against the sandbox."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pack_loader import PACK_DIR, pack_module
from pipeline_helpers import api_calls, generate, make_pipeline, small_request

errors = pack_module("core.errors")
spend_guard = pack_module("core.spend_guard")
journal_module = pack_module("core.store.journal")
ledger_module = pack_module("core.store.ledger")
selection_module = pack_module("core.media.selection")
MODEL_ID = pack_module("core.kling.request").MODEL_ID
ESTIMATE_3S_WITH_SOUND = 0.504  # 3 s x USD 0.168


def budgeted(tmp_path, sandbox, **env):
    pipeline = make_pipeline(tmp_path, sandbox)
    pipeline.environ.update(env)
    return pipeline


def test_a_job_over_the_daily_budget_is_refused_before_anything_is_sent(tmp_path, sandbox):
    pipeline = budgeted(tmp_path, sandbox, RUNCOMFY_KLING3_DAILY_BUDGET_USD="0.50")
    with pytest.raises(errors.BudgetExceededError) as info:
        pipeline.check_generation(small_request(), selection_module.FrameSelection())
    text = str(info.value)
    for part in ("daily budget of USD 0.50", "spent today USD 0.00", "in flight USD 0.00", "this job USD 0.50",
                 "RUNCOMFY_KLING3_DAILY_BUDGET_USD", "Nothing was submitted"):
        assert part in text, part
    with pytest.raises(errors.BudgetExceededError):  # and again where it records the submission
        generate(pipeline, sandbox)
    assert sandbox.submissions == [] and list(pipeline.state.journal().entries()) == []


def test_the_budget_set_in_comfyui_settings_counts_and_the_environment_wins(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    spend_guard.save_budget(pipeline.state.database(), "monthly", 1.0)
    generate(pipeline, sandbox, seed=1)
    with pytest.raises(errors.BudgetExceededError, match="monthly budget of USD 1.00.*in ComfyUI's settings"):
        generate(pipeline, sandbox, seed=2)
    pipeline.environ["RUNCOMFY_KLING3_MONTHLY_BUDGET_USD"] = "5"
    generate(pipeline, sandbox, seed=2)
    assert len(sandbox.submissions) == 2


def test_a_reservation_left_by_a_crash_is_counted_until_its_outcome_is_known(tmp_path, sandbox):
    pipeline = budgeted(tmp_path, sandbox, RUNCOMFY_KLING3_DAILY_BUDGET_USD="0.80")
    crashed = journal_module.JournalEntry("ab" * 32, "submitting", MODEL_ID, body={"prompt": "x", "duration": 3},
                                          estimate_usd=ESTIMATE_3S_WITH_SOUND, created_at=time.time(),
                                          updated_at=time.time())
    pipeline.state.journal().begin(crashed)  # the process died between reservation and submit
    with pytest.raises(errors.BudgetExceededError, match="in flight USD 0.50"):
        generate(pipeline, sandbox)
    assert api_calls(sandbox) == []
    line = ledger_module.Ledger(pipeline.state.database()).lines()[0]
    assert line["state"] == "unknown outcome"
    ledger_module.Ledger(pipeline.state.database()).resolve(line["id"], None)  # never created
    assert generate(pipeline, sandbox).video.request_id


RACER = r"""
import sys, json
sys.path.insert(0, sys.argv[1])
from pack_loader import pack_module
helpers = pack_module("core.pipeline")
from pipeline_helpers import generate, make_pipeline, small_request
class Box: pass
sandbox = Box(); sandbox.api_base = sys.argv[3]
pipeline = make_pipeline(__import__("pathlib").Path(sys.argv[2]), sandbox)
pipeline.environ["RUNCOMFY_KLING3_DAILY_BUDGET_USD"] = "0.60"
errors = pack_module("core.errors")
print("ready", flush=True)
sys.stdin.readline()
try:
    result = generate(pipeline, sandbox, request=small_request(prompt=sys.argv[4]))
    print(json.dumps({"ok": result.video.request_id}), flush=True)
except errors.BudgetExceededError as exc:
    print(json.dumps({"refused": str(exc)}), flush=True)
"""


def test_two_processes_racing_for_the_last_dollars_submit_one_job(tmp_path, sandbox):
    sandbox.settings.queue_seconds = 1.0
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    racers = [subprocess.Popen([sys.executable, str(script), str(PACK_DIR / "tests"), str(tmp_path / "state"),
                                sandbox.api_base, f"prompt {n}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True) for n in range(2)]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready"
    for racer in racers:  # go at once
        racer.stdin.write("go\n")
        racer.stdin.flush()
    outcomes = [json.loads(racer.communicate(timeout=120)[0].strip().splitlines()[-1]) for racer in racers]
    assert sorted(next(iter(o)) for o in outcomes) == ["ok", "refused"]
    assert len(sandbox.submissions) == 1


def test_the_ledger_keeps_estimate_and_actual_cost_and_totals_them(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    result = generate(pipeline, sandbox)
    ledger = ledger_module.Ledger(pipeline.state.database())
    line = ledger.lines()[0]
    assert (line["request_id"], line["state"], line["estimate_usd"]) == (result.video.request_id, "done",
                                                                      ESTIMATE_3S_WITH_SOUND)
    assert line["cost_usd"] == pytest.approx(ESTIMATE_3S_WITH_SOUND) and line["video_path"] == str(result.video.path)
    assert (line["prompt"], line["duration"], line["aspect_ratio"], line["sound"], line["shots"]) == (
        "a red fox in snow", 3, "16:9", True, 1)
    totals = ledger.totals()
    assert totals["today"]["spent_usd"] == totals["month"]["spent_usd"] == pytest.approx(0.504)


def test_pruning_keeps_this_and_last_months_costs(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    journal, ledger = pipeline.state.journal(), ledger_module.Ledger(pipeline.state.database())
    now = time.time()
    ages = {"old": now - 200 * 86400, "last month": ledger_module.month_start(now, months_back=1) + 3600,
            "this month": now - 60}
    for n, (name, created) in enumerate(ages.items()):
        key = f"{n:064d}"
        journal.begin(journal_module.JournalEntry(key, "submitting", MODEL_ID, body={"prompt": name},
                                                  estimate_usd=1.0, created_at=created, updated_at=created))
        journal.settle(key, f"req-{n}", "failed")
    assert ledger.prune(keep_days=1, now=now) == 1
    assert sorted(line["prompt"] for line in ledger.lines()) == ["last month", "this month"]
