"""The "Spending" sidebar tab (the pack's ledger of paid jobs) and the budget settings, in the real
frontend: the list newest first, totals against a budget set in the settings dialog, each action
of a line (copy the request id, add a Fetch Result node, play the cached video, resolve an unknown
outcome), two browser tabs at once, and the list after ComfyUI restarts."""
from __future__ import annotations

import uuid

import pytest

from comfyui_harness import restart

from browser.comfy_page import ComfyPage, only_local

T2V, FETCH = "RunComfyKling3TextToVideo", "RunComfyKling3FetchResult"
TAB_BUTTON, LIST, LINE = ".runcomfy-kling3-history-tab-button", ".rk3h-list", ".rk3h-list > .rk3h-line"
SINGLE = "kling3_single_shot_with_sound"
LINES_JS = """() => [...document.querySelectorAll('.rk3h-list > .rk3h-line')].map((li) => ({
  id: Number(li.dataset.id), state: li.dataset.state, request_id: li.dataset.requestId,
  prompt: li.querySelector('.rk3h-prompt').textContent, settings: li.querySelector('.rk3h-settings').textContent,
  cost: li.querySelector('.rk3h-cost').textContent, id_text: li.querySelector('.rk3h-id').textContent,
  time: li.querySelector('.rk3h-time').textContent}))"""


def clip_graph(prompt: str, seed: int, duration: int = 5, sound: bool = False) -> dict:
    inputs = {"prompt": prompt, "negative_prompt": "", "duration": duration, "aspect_ratio": "9:16", "cfg_scale": 0.5,
              "sound": sound, "seed": seed, "frame_load_cap": 0, "skip_first_frames": 0, "select_every_nth": 1,
              "custom_width": 0, "custom_height": 0}
    save = {"class_type": "SaveVideo", "inputs": {"video": ["1", 4], "filename_prefix": "kling3/history",
                                                   "format": "auto", "codec": "auto"}}
    return {"1": {"class_type": T2V, "inputs": inputs}, "2": save}


def run_clip(server, prompt: str, seed: int | None = None, expect: str = "success", **options) -> dict:
    """Queue a generation through ComfyUI's /prompt and wait for it: one more line in the ledger."""
    graph = clip_graph(prompt, uuid.uuid4().int % 10**9 if seed is None else seed, **options)
    entry = server.wait(server.queue(graph))
    assert entry["status"]["status_str"] == expect, entry["status"]
    return graph


def history(server, limit: int = 50) -> dict:
    return server.get(f"/runcomfy/kling3/history?limit={limit}")


def open_panel(comfy_page) -> None:
    comfy_page.page.locator(TAB_BUTTON).click()
    comfy_page.page.locator(LIST).wait_for(state="attached")
    comfy_page.page.wait_for_function("document.querySelectorAll('.rk3h-list > .rk3h-line').length > 0"
                                      " || !document.querySelector('.rk3h-empty').hidden")


def shown_lines(page) -> list[dict]:
    return page.evaluate(LINES_JS)


def wait_line(page, line_id: int, state: str, timeout: float = 30_000) -> None:
    page.wait_for_function("([id, state]) => document.querySelector(`.rk3h-line[data-id='${id}']`)"
                           "?.dataset.state === state", arg=[line_id, state], timeout=timeout)


def card(page, line_id: int):
    return page.locator(f".rk3h-line[data-id='{line_id}']")


def set_budgets(server, **values) -> dict:
    return server.post("/runcomfy/kling3/budget", values)


@pytest.fixture(autouse=True)
def no_budgets(browser_comfy):
    """No budget before and after each test (they are kept on the server, for every test after)."""
    set_budgets(browser_comfy, daily_usd=None, monthly_usd=None)
    yield
    set_budgets(browser_comfy, daily_usd=None, monthly_usd=None)


def test_list_newest_first_and_totals_against_a_budget_set_in_the_settings(comfy_page):
    page, server = comfy_page.page, comfy_page.server
    comfy_page.load_template(SINGLE)
    run_clip(server, "a lighthouse at dusk, waves rolling in")
    run_clip(server, "a red kite over a field of barley", duration=6, sound=True)
    open_panel(comfy_page)
    expected = history(server)["lines"]
    lines = shown_lines(page)
    assert [line["id"] for line in lines] == [line["id"] for line in expected]      # newest first
    assert lines[0]["id"] > lines[1]["id"]
    newest, before = lines[0], lines[1]
    assert newest["prompt"] == "a red kite over a field of barley" and newest["state"] == "done"
    assert newest["settings"] == "6 s \u00b7 9:16 \u00b7 sound" and before["settings"] == "5 s \u00b7 9:16 \u00b7 no sound"
    assert newest["time"].startswith("Today ")
    estimate, cost = expected[0]["estimate_usd"], expected[0]["cost_usd"]
    assert newest["cost"] == f"est. ${estimate:.2f} \u00b7 charged ${cost:.2f}"
    assert newest["request_id"] == newest["id_text"] == expected[0]["request_id"]
    assert newest["request_id"] in server.sandbox.submissions_ids
    today = history(server)["totals"]["today"]
    totals = page.locator(".rk3h-totals").inner_text()
    assert f"${today['spent_usd']:.2f} spent" in totals and "no budget" in totals
    comfy_page.shot("list-without-budget")

    page.get_by_role("button", name="Settings").first.click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("RunComfy", exact=True).first.click()
    for kind, amount, shown in (("daily", "$25", "$25.00 a day"), ("monthly", "300", "$300.00 a month")):
        entry = dialog.locator(f".rk3-budget-{kind}")
        page.wait_for_function("k => !document.querySelector(`.rk3-budget-${k} .rk3-budget-status`)"
                               "?.textContent.startsWith('Reading')", arg=kind)
        entry.locator("input").fill(amount)
        entry.locator("input").press("Enter")
        page.wait_for_function("([kind, text]) => document.querySelector(`.rk3-budget-${kind} .rk3-budget-status`)"
                               "?.textContent.startsWith(text)", arg=[kind, shown])
        assert "saved in these settings" in entry.inner_text()
    dialog.locator(".rk3-budget-daily").scroll_into_view_if_needed()
    comfy_page.shot("budgets-in-settings")
    assert server.get("/runcomfy/kling3/budget")["budgets"] == {
        "daily": {"usd": 25.0, "source": "settings"}, "monthly": {"usd": 300.0, "source": "settings"}}
    entry = dialog.locator(".rk3-budget-daily")
    entry.locator("input").fill("-3")
    entry.locator("input").press("Enter")
    assert "USD" in entry.locator(".rk3-budget-error").inner_text()
    assert server.get("/runcomfy/kling3/budget")["budgets"]["daily"]["usd"] == 25.0
    dialog.get_by_role("button", name="Close dialog").first.click()
    dialog.wait_for(state="detached")

    page.wait_for_function("document.querySelector('.rk3h-totals').textContent.includes('of $25.00')")
    totals = page.locator(".rk3h-totals").inner_text()
    assert "of $25.00" in totals and "of $300.00" in totals
    assert page.locator(".rk3h-bar").count() == 2
    width = page.locator(".rk3h-bar > div").first.evaluate("bar => parseFloat(bar.style.width)")
    assert abs(width - min(1, today["committed_usd"] / 25) * 100) <= 1
    comfy_page.shot("list-with-budgets")


def test_copy_add_fetch_result_node_and_play_from_a_line(comfy_page):
    page, server = comfy_page.page, comfy_page.server
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    run_clip(server, "a paper boat drifting down a gutter in the rain")
    open_panel(comfy_page)
    newest = shown_lines(page)[0]
    request_id, line = newest["request_id"], card(page, newest["id"])

    line.get_by_role("button", name="Copy id").click()
    page.wait_for_function("id => navigator.clipboard.readText().then((text) => text === id)", arg=request_id)
    comfy_page.shot("copied")

    before = page.evaluate(f"app.graph.nodes.filter((n) => n.type === '{FETCH}').length")
    line.get_by_role("button", name="Add Fetch Result node").click()
    page.wait_for_function(f"app.graph.nodes.filter((n) => n.type === '{FETCH}').length === {before + 1}")
    added = page.evaluate(f"""() => {{
      const node = app.graph.nodes.filter((n) => n.type === '{FETCH}').at(-1), area = app.canvas.visible_area;
      const inView = node.pos[0] >= area[0] && node.pos[1] >= area[1]
        && node.pos[0] + node.size[0] <= area[0] + area[2] && node.pos[1] + node.size[1] <= area[1] + area[3];
      return {{value: node.widgets.find((w) => w.name === 'request_id').value, inView}};
    }}""")
    assert added == {"value": request_id, "inView": True}
    prompt = page.evaluate("app.graphToPrompt().then((p) => Object.values(p.output))")
    assert any(n["class_type"] == FETCH and n["inputs"]["request_id"] == request_id for n in prompt)
    comfy_page.shot("fetch-result-node-added")

    line.get_by_role("button", name="Play").click()
    video = line.locator("video")
    assert f"/api/runcomfy/kling3/video?request_id={request_id}" in video.get_attribute("src")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.readyState > 0 && !v.paused && v.currentTime > 0.3 && !v.error",
                           arg=video.element_handle())
    assert video.evaluate("v => v.videoWidth > 0 && v.duration > 0")
    comfy_page.shot("video-playing-in-panel")
    assert not comfy_page.errors, comfy_page.errors


def test_unknown_outcomes_resolved_with_the_request_id_found_and_as_never_created(comfy_page):
    page, server, sandbox = comfy_page.page, comfy_page.server, comfy_page.server.sandbox
    sandbox.faults.add("submit", "drop_after_accept")
    found_graph = clip_graph("a snail crossing a mossy log", seed=uuid.uuid4().int % 10**9)
    assert server.wait(server.queue(found_graph))["status"]["status_str"] == "error"
    found = sandbox.submissions_ids[-1]          # what the RunComfy request history would show
    sandbox.faults.add("submit", "drop_after_accept")
    run_clip(server, "a fox in fresh snow, never seen by the API", expect="error")
    today = history(server)["totals"]["today"]["committed_usd"]
    set_budgets(server, daily_usd=int(today) + 4, monthly_usd=int(today) + 40)   # totals shown against budgets
    open_panel(comfy_page)
    lost, first = shown_lines(page)[:2]
    assert lost["state"] == first["state"] == "unknown outcome"
    assert card(page, first["id"]).get_by_role("button", name="Copy id").count() == 0
    in_flight = history(server)["totals"]["today"]["in_flight_usd"]
    assert in_flight > 0 and "in flight" in page.locator(".rk3h-totals").inner_text()

    card(page, first["id"]).get_by_role("button", name="Resolve\u2026").click()
    box = card(page, first["id"]).locator(".rk3h-resolve")
    box.locator("input").fill("not an id!")
    box.get_by_role("button", name="Use this request id").click()
    page.wait_for_function("el => el.textContent.includes('request id')", arg=box.locator(".rk3h-error").element_handle())
    box.locator("input").fill(found)
    comfy_page.shot("resolve-with-found-id")
    box.get_by_role("button", name="Use this request id").click()
    wait_line(page, first["id"], "generating")
    assert card(page, first["id"]).locator(".rk3h-id").inner_text() == found
    assert {l["id"]: l for l in history(server)["lines"]}[first["id"]]["state"] == "generating"   # the server's word

    card(page, lost["id"]).get_by_role("button", name="Resolve\u2026").click()
    card(page, lost["id"]).get_by_role("button", name="Never created").click()
    wait_line(page, lost["id"], "never created")
    server_lines = {l["id"]: l for l in history(server)["lines"]}
    assert server_lines[lost["id"]]["state"] == "never created"
    assert "not charged" in card(page, lost["id"]).locator(".rk3h-cost").inner_text()
    assert history(server)["totals"]["today"]["in_flight_usd"] < in_flight
    comfy_page.shot("resolved")
    page.screenshot(path=comfy_page.shot("panel").with_suffix(".clip.png"), clip={"x": 0, "y": 0, "width": 760, "height": 1000})

    submissions = len(sandbox.submissions)
    assert server.wait(server.queue(found_graph))["status"]["status_str"] == "success"
    assert len(sandbox.submissions) == submissions   # re-attached to the request found, not paid again
    wait_line(page, first["id"], "done")
    comfy_page.shot("re-attached-done")


def test_a_job_in_one_tab_updates_the_other_and_the_list_survives_a_restart(comfy_page, playwright_browser, shots):
    page, server = comfy_page.page, comfy_page.server
    other_context = playwright_browser.new_context(viewport=page.viewport_size)
    other_context.route("**/*", only_local)
    try:
        other = ComfyPage(other_context.new_page(), server, shots, comfy_page.settings).open()
        open_panel(other)
        newest_before = max([line["id"] for line in shown_lines(other.page)], default=0)
        comfy_page.load_template(SINGLE)
        node = comfy_page.node_id(T2V)
        page.evaluate(f"app.graph.getNodeById({node}).widgets.find((w) => w.name === 'seed').value = "
                      f"{uuid.uuid4().int % 10**9}")   # new inputs: a new paid job
        comfy_page.run()
        newest = history(server)["lines"][0]
        assert newest["id"] > newest_before and newest["state"] == "done"
        wait_line(other.page, newest["id"], "done")     # the other tab was told, nothing was clicked there
        assert shown_lines(other.page)[0]["id"] == newest["id"]
        ran = shots("job-run-in-this-tab")
        other.page.screenshot(path=ran.with_name(ran.name.replace("job-run-in-this-tab", "other-tab-updated")))
        listed = [line["id"] for line in shown_lines(other.page)]
    finally:
        other_context.close()

    restart(server, server.sandbox)
    comfy_page.open()
    open_panel(comfy_page)
    after = shown_lines(comfy_page.page)
    assert [line["id"] for line in after][:len(listed)] == listed and after[0]["state"] == "done"
    comfy_page.shot("after-restart")
