"""Batches without ComfyUI: the prompt list's limits and whole-batch budget check, the process-wide
limit of jobs in flight (waiting, order, Cancel, the variable), and the back-off every job takes
after one 429."""
from __future__ import annotations

import threading

import pytest

from node_outputs import outputs
from pack_loader import load_pack, pack_module
from pipeline_helpers import generate, make_pipeline, small_request

errors = pack_module("core.errors")
batch = pack_module("core.batch")
slots = pack_module("core.slots")
stopping = pack_module("core.stopping")
status = pack_module("core.status")
rate_gate = pack_module("core.api.rate_gate")
client_module = pack_module("core.api.client")
settings_module = pack_module("core.api.settings")
PromptList = load_pack().NODE_CLASS_MAPPINGS["RunComfyKling3PromptList"]
T2V = "RunComfyKling3TextToVideo"


def t2v_inputs(**changes) -> dict:
    inputs = {"prompt": ["1", 0], "negative_prompt": ["1", 1], "duration": 5, "aspect_ratio": "16:9",
              "cfg_scale": 0.5, "sound": True, "seed": 7}
    inputs.update(changes)
    return inputs


def build(text, graph=None, negative=""):
    graph = graph if graph is not None else {"1": {"class_type": "RunComfyKling3PromptList", "inputs": {}},
                                             "2": {"class_type": T2V, "inputs": t2v_inputs()}}
    return PromptList().build(prompts=text, negative_prompt=negative, graph=graph, unique_id="1")


# --- the list ------------------------------------------------------------------------------------

def test_one_prompt_per_line_without_blanks_and_comments():
    assert batch.parse_prompts("# title\n a fox \n\n#skip\nan owl\n   \n") == ["a fox", "an owl"]


@pytest.mark.parametrize("text, words", [
    ("", "at least one prompt"), ("# only a comment", "at least one prompt"),
    ("\n".join(f"prompt {i}" for i in range(21)), "at most 20 prompts"),
    ("fine\n" + "x" * 2501, "prompt 2 of the list"),
])
def test_limits_are_checked_before_anything_is_sent(comfy, sandbox, text, words):
    with pytest.raises(errors.InvalidInputError, match=words):
        build(text)
    assert sandbox.submissions == []


def test_the_node_outputs_a_list_and_shows_the_count_and_total(comfy):
    answer = build("a fox\nan owl\na hare", negative="blur")
    values = outputs(PromptList, answer)
    assert PromptList.OUTPUT_IS_LIST == (True, False, False)
    assert values == {"prompt": ["a fox", "an owl", "a hare"], "negative_prompt": "blur", "count": 3}
    assert answer["ui"]["text"] == ["3 prompts \u00b7 est. $2.52 in all"]  # 3 x 5 s with sound


def test_a_linked_duration_or_sound_is_priced_at_its_dearest(comfy):
    graph = {"2": {"class_type": T2V, "inputs": t2v_inputs(duration=["9", 0], sound=["9", 1])}}
    assert build("a fox\nan owl", graph)["ui"]["text"] == ["2 prompts \u00b7 est. $5.04 in all"]  # 2 x 15 s


def test_a_batch_over_budget_is_refused_whole(comfy, sandbox, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_KLING3_DAILY_BUDGET_USD", "2.00")  # one 5 s video is 0.84
    with pytest.raises(errors.BudgetExceededError, match="these 3 jobs USD 2.52"):
        build("a fox\nan owl\na hare")
    assert sandbox.submissions == []


def test_prompts_already_generated_cost_nothing_again(comfy, sandbox, monkeypatch):
    # the fox was generated with these exact inputs and seed: a re-queued batch pays only the owl
    settings = settings_module.load_settings(None)
    pipeline = pack_module("core.pipeline").Pipeline(pack_module("nodes.comfy_bridge").state_folder())
    request = small_request("a fox", duration=5, negative_prompt="blur")
    generate(pipeline, sandbox, request=request, seed=7)
    monkeypatch.setenv("RUNCOMFY_KLING3_DAILY_BUDGET_USD", "1.70")  # 0.84 spent, 0.84 left
    answer = build("a fox\nan owl", negative="blur")
    assert answer["ui"]["text"] == ["2 prompts \u00b7 est. $0.84 in all (1 already generated)"]
    assert settings.base_url == sandbox.api_base


# --- the limit of jobs in flight -----------------------------------------------------------------

def test_the_limit_comes_from_the_variable_then_the_settings_then_4(tmp_path):
    database = make_pipeline(tmp_path).state.database()
    assert slots.read_limit(database, {}) == (4, "default")
    slots.save_limit(database, 2)
    assert slots.read_limit(database, {}) == (2, "settings")
    assert slots.read_limit(database, {"RUNCOMFY_KLING3_MAX_PARALLEL": "1"}) == (1, "RUNCOMFY_KLING3_MAX_PARALLEL")
    with pytest.raises(errors.ConfigurationError, match="from 1 to 32"):
        slots.read_limit(database, {"RUNCOMFY_KLING3_MAX_PARALLEL": "0"})


def test_jobs_over_the_limit_wait_for_a_slot_in_order():
    limiter, order, released = slots.Slots(), [], threading.Event()
    first = limiter.acquire(lambda: 1)
    progress = [status.Progress() for _ in range(2)]
    holders = [slots.SlotHolder(limiter, lambda: 1, p) for p in progress]

    def job(index):
        holders[index].take()
        order.append(index)
        released.wait(5)
        holders[index].release()

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    threads[0].start()
    while limiter.waiting < 1:
        threading.Event().wait(0.01)
    threads[1].start()
    while limiter.waiting < 2:
        threading.Event().wait(0.01)
    assert [p.phase for p in progress] == [status.Phase.WAITING_FOR_SLOT] * 2
    assert progress[1].queue_position == 1  # one job ahead of it
    first.release()
    released.set()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1] and limiter.in_use == 0


def test_cancel_ends_a_wait_for_a_slot_and_leaves_the_line_clean():
    limiter = slots.Slots()
    taken = limiter.acquire(lambda: 1)
    with pytest.raises(errors.StoppedError, match="nothing was submitted"):
        with stopping.scope(lambda: True):
            limiter.acquire(lambda: 1)
    assert limiter.waiting == 0
    taken.release()
    limiter.acquire(lambda: 1).release()
    assert limiter.in_use == 0


def test_a_job_stopped_before_its_turn_never_takes_a_free_slot():
    # a batch's Cancel may reach a waiting job just as the first job frees its slot: it must not
    # take the slot (and submit) before it looks at the Cancel
    limiter = slots.Slots()
    with pytest.raises(errors.StoppedError, match="nothing was submitted"):
        with stopping.scope(lambda: True):
            limiter.acquire(lambda: 1)
    assert limiter.in_use == 0 and limiter.waiting == 0


def test_a_cached_result_never_waits_for_a_slot(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    generate(pipeline, sandbox, seed=1)
    blocker = slots.SHARED.acquire(lambda: 1)  # every slot taken
    try:
        pipeline.environ = {"RUNCOMFY_KLING3_MAX_PARALLEL": "1"}
        gave_up = threading.Event()
        threading.Timer(10, gave_up.set).start()  # a wait for a slot would end in StoppedError
        result = generate(pipeline, sandbox, seed=1, should_stop=gave_up.is_set)
    finally:
        blocker.release()
    assert result.video.reused and len(sandbox.submissions) == 1


# --- one 429 slows every job ---------------------------------------------------------------------

def test_a_429_holds_the_other_jobs_requests_too(sandbox):
    settings = settings_module.load_settings("sandbox-token", {"RUNCOMFY_API_BASE": sandbox.api_base})
    sandbox.faults.add("model", "http_429", count=1, retry_after=30)
    stop = threading.Event()
    with client_module.RunComfyClient(settings, attempts=0) as first, pytest.raises(errors.RateLimitedError):
        first.model_info("kling/kling-3.0/pro/text-to-video")
    assert rate_gate.SHARED.remaining() > 20
    seen = len(sandbox.requests)
    threading.Timer(0.3, stop.set).start()
    with client_module.RunComfyClient(settings) as other, pytest.raises(errors.StoppedError, match="rate limit"):
        with stopping.scope(stop.is_set):
            other.handle("req-1").status()
    assert len(sandbox.requests) == seen  # the other job's poll waited, and never went out
