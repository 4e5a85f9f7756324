"""The panel the pack's web extension adds to the text-to-video node, in the real frontend:
cost estimate, multi-shot timeline warning, live status and progress, then the video preview,
and what the run was charged next to the estimate."""
from __future__ import annotations

import uuid

import requests

from comfyui_harness import TOKEN

T2V, SEGMENT = "RunComfyKling3TextToVideo", "RunComfyKling3MultiPromptSegment"
SINGLE, STORY = "kling3_single_shot_with_sound", "kling3_three_shot_story"
STATUS = "(el.querySelector('.rk3-status-text')?.textContent ?? '')"


def expected_cost(server, seconds: int, sound: bool) -> str:
    pricing = server.get("/runcomfy/kling3/pricing")
    rate = pricing["per_second_with_sound_usd"] if sound else pricing["per_second_usd"]
    return f"Estimated cost \u2248 ${seconds * rate:.2f}"


def cost_line(comfy_page, node: int) -> str:
    return comfy_page.panel_text(node).splitlines()[0].split(" \u00b7 ")[0]


def test_cost_estimate_follows_duration_and_sound(comfy_page):
    comfy_page.load_template(SINGLE)
    node = comfy_page.node_id(T2V)
    assert (comfy_page.widget_value(node, "duration"), comfy_page.widget_value(node, "sound")) == (5, True)
    first = expected_cost(comfy_page.server, 5, True)
    comfy_page.wait_panel(node, f"el.textContent.includes({first!r})")
    comfy_page.shot("5s-with-sound")

    comfy_page.step_widget(node, "duration", +1)
    longer = expected_cost(comfy_page.server, 6, True)
    comfy_page.wait_panel(node, f"el.textContent.includes({longer!r})")
    assert "6 s \u00d7" in comfy_page.panel_text(node)
    comfy_page.shot("6s-with-sound")

    comfy_page.click_widget(node, "sound")
    comfy_page.page.wait_for_function(f"app.graph.getNodeById({node}).widgets.find((w) => w.name === 'sound').value === false")
    silent = expected_cost(comfy_page.server, 6, False)
    comfy_page.wait_panel(node, f"el.textContent.includes({silent!r})")
    assert "without sound" in comfy_page.panel_text(node)
    comfy_page.shot("6s-without-sound")
    assert len({first, longer, silent}) == 3 and cost_line(comfy_page, node) == silent


def test_multi_shot_sum_mismatch_shows_the_warning_until_fixed(comfy_page):
    comfy_page.load_template(STORY)
    node, last_shot = comfy_page.node_id(T2V), comfy_page.node_id(SEGMENT, 2)
    comfy_page.wait_panel(node, "el.textContent.includes('3 shots, 12 s of 12 s \u2713')")
    assert comfy_page.panel(node).query_selector(".rk3-warn") is None
    comfy_page.shot("shots-add-up")

    comfy_page.step_widget(last_shot, "duration", +1)  # shots: 4 + 4 + 5 = 13, duration 12
    comfy_page.wait_panel(node, "el.querySelector('.rk3-warn') !== null")
    warning = comfy_page.panel(node).query_selector(".rk3-warn").inner_text()
    assert "Shots add up to 13 s but duration is 12 s" in warning and "too long" in warning
    assert comfy_page.panel(node).query_selector(".rk3-block.rk3-over") is not None
    comfy_page.fit_view()
    comfy_page.shot("mismatch-warning")

    comfy_page.step_widget(node, "duration", +1)  # duration 13: adds up again
    comfy_page.wait_panel(node, "el.querySelector('.rk3-warn') === null"
                                " && el.textContent.includes('3 shots, 13 s of 13 s \u2713')")
    comfy_page.fit_view()
    comfy_page.shot("fixed")


def test_status_and_progress_while_running_then_the_video_plays(comfy_page):
    server, sandbox = comfy_page.server, comfy_page.server.sandbox
    learn_a_typical_time(server, duration=5)  # the panel's progress bar needs one
    comfy_page.load_template(SINGLE)
    node = comfy_page.node_id(T2V)
    comfy_page.step_widget(node, "seed", +1)  # new inputs: a new job, not a cached result
    saved = sandbox.settings.queue_seconds, sandbox.settings.run_seconds
    sandbox.settings.queue_seconds, sandbox.settings.run_seconds = 1.0, 5.0  # time to watch it
    try:
        prompt_id = comfy_page.press_run()
        comfy_page.wait_panel(node, "el.querySelector('.rk3-dot.rk3-run') !== null"
                                    f" && /^(Submitting|Queued|Generating)/.test({STATUS})")
        comfy_page.center_widget(node, "runcomfy_kling3_panel")
        comfy_page.shot("status-while-running")
        comfy_page.wait_panel(node, f"{STATUS}.startsWith('Generating') && el.querySelector('.rk3-progress') !== null")
        width = comfy_page.panel(node).eval_on_selector(".rk3-progress > div", "bar => bar.style.width")
        assert width.endswith("%") and 0 <= float(width[:-1]) <= 100
        assert "elapsed" in comfy_page.panel_text(node)
        comfy_page.shot("progress-while-generating")
        entry = server.wait(prompt_id)
    finally:
        sandbox.settings.queue_seconds, sandbox.settings.run_seconds = saved
    assert entry["status"]["status_str"] == "success", entry["status"]
    comfy_page.wait_panel(node, f"{STATUS}.startsWith('Done')")
    assert comfy_page.panel(node).query_selector(".rk3-progress") is None

    video = comfy_page.video_element(node)
    assert "/view?" in video.get_attribute("src")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    comfy_page.page.wait_for_function("v => v.readyState >= 2 && !v.paused && v.currentTime > 0.3", arg=video)
    comfy_page.center_widget(node, "video-preview")
    comfy_page.shot("video-playing")
    assert video.evaluate("v => v.videoWidth > 0 && v.duration > 0 && !v.error")
    assert not comfy_page.errors, comfy_page.errors


def test_the_charge_of_a_run_shows_next_to_the_estimate_as_the_last_runs(comfy_page):
    server, sandbox = comfy_page.server, comfy_page.server.sandbox
    comfy_page.load_template(SINGLE)
    node = comfy_page.node_id(T2V)
    estimate = expected_cost(server, 5, True)
    comfy_page.wait_panel(node, f"el.textContent.includes({estimate!r})")
    assert comfy_page.panel(node).query_selector(".rk3-charged") is None  # nothing before a run
    comfy_page.page.evaluate(f"app.graph.getNodeById({node}).widgets.find((w) => w.name === 'seed').value = "
                             f"{uuid.uuid4().int % 10**9}")   # new inputs: a new paid job
    submitted = set(sandbox.submissions_ids)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", entry["status"]
    [request_id] = set(sandbox.submissions_ids) - submitted
    cost = sandbox_charge(sandbox, request_id)   # what the result answer says, with include_cost
    charged = f"last run: ${cost:.2f} charged"
    comfy_page.wait_panel(node, f"el.querySelector('.rk3-charged')?.textContent === {charged!r}")
    first_row = comfy_page.panel_text(node).splitlines()[0]
    assert first_row.startswith(f"{estimate} \u00b7 {charged}"), first_row
    title = comfy_page.panel(node).eval_on_selector(".rk3-charged", "span => span.title")
    assert f"(request {request_id})" in title and f"${cost:.2f}" in title
    ledger = server.get("/runcomfy/kling3/history?limit=5")["lines"]
    assert [line["cost_usd"] for line in ledger if line["request_id"] == request_id] == [cost]
    comfy_page.center_widget(node, "runcomfy_kling3_panel")
    comfy_page.shot("charged-next-to-the-estimate")

    # edited afterwards: the estimate is the next run's, the charge stays labelled the last run's
    comfy_page.step_widget(node, "duration", +1)
    longer = expected_cost(server, 6, True)
    comfy_page.wait_panel(node, f"el.textContent.includes({longer!r})")
    assert comfy_page.panel_text(node).splitlines()[0].startswith(f"{longer} \u00b7 {charged}")
    comfy_page.center_widget(node, "runcomfy_kling3_panel")
    comfy_page.shot("estimate-changed-charge-stays-the-last-runs")
    assert not comfy_page.errors, comfy_page.errors


def sandbox_charge(sandbox, request_id: str) -> float:
    """The job's cost as the sandbox's result answer reports it (include_cost), over HTTP."""
    answer = requests.get(f"{sandbox.api_base}/v1/requests/{request_id}/result", params={"include_cost": "true"},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["cost"]

def learn_a_typical_time(server, duration: int) -> None:
    """One run queued over HTTP if the pack has no generating time for ``duration`` yet. The
    node learns one only when a status poll (every 2 s) saw the job generating: the sandbox's
    usual 1 s jobs are too quick for that, so this one generates for 3 s."""
    if server.get(f"/runcomfy/kling3/eta?duration={duration}")["eta_s"] is not None:
        return
    saved = server.sandbox.settings.run_seconds
    server.sandbox.settings.run_seconds = 3.0
    try:
        queue_warm_up(server, duration)
    finally:
        server.sandbox.settings.run_seconds = saved
    assert server.get(f"/runcomfy/kling3/eta?duration={duration}")["eta_s"] is not None


def queue_warm_up(server, duration: int) -> None:
    inputs = {**required_defaults(server, T2V), "prompt": "a warm-up clip", "duration": duration,
              "sound": False, "seed": 99}
    save = {"class_type": "SaveVideo", "inputs": {"video": ["1", 4], "filename_prefix": "kling3/warm_up",
                                                   "format": "auto", "codec": "auto"}}
    entry = server.wait(server.queue({"1": {"class_type": T2V, "inputs": inputs}, "2": save}))
    assert entry["status"]["status_str"] == "success", entry["status"]


def required_defaults(server, node_type: str) -> dict:
    """The node's required widget inputs at their defaults, as /object_info declares them."""
    values = {}
    for name, spec in server.get(f"/object_info/{node_type}")[node_type]["input"]["required"].items():
        kind, options = spec[0], spec[1] if len(spec) > 1 else {}
        if isinstance(kind, list) or kind == "COMBO":
            values[name] = (kind if isinstance(kind, list) else options["options"])[0]
        elif "default" in options:
            values[name] = options["default"]
    return values
