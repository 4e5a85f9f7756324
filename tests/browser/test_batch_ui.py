"""Batches in the real frontend: the "Jobs at once" entry of ComfyUI's settings dialog (the
process-wide limit on jobs in flight, saved through POST /runcomfy/kling3/budget; the environment
variable wins, and the entry says so), and the Prompt List node's live count and estimate while a
person types, following the text-to-video node it feeds, without moving any widget."""
from __future__ import annotations

import json

import pytest

import comfyui_harness
from comfyui_harness import restart

LIST, T2V = "RunComfyKling3PromptList", "RunComfyKling3TextToVideo"
TEMPLATE = "kling3_prompt_list_batch"
BUDGET = "/runcomfy/kling3/budget"
ENTRY, STATUS, ERROR = ".rk3-budget-parallel", ".rk3-budget-parallel .rk3-budget-status", ".rk3-budget-parallel .rk3-budget-error"
ENV = "RUNCOMFY_KLING3_MAX_PARALLEL"
# the pack's badges (ComfyUI adds its own node-source badge, "RunComfy-Kling3", next to them)
BADGES = ("id => app.graph.getNodeById(id).badges.map((b) => (typeof b === 'function' ? b() : b).text)"
          ".filter((text) => text && !text.startsWith('RunComfy'))")
LINE = "id => app.graph.getNodeById(id).runcomfyKling3List.line.textContent"


def max_parallel(server) -> dict:
    return server.get(BUDGET)["max_parallel"]


@pytest.fixture
def default_limit(browser_comfy):
    """The default limit before and after (the saved value is kept on the server for every test after)."""
    browser_comfy.post(BUDGET, {"max_parallel": None})
    yield
    browser_comfy.post(BUDGET, {"max_parallel": None})


def open_entry(comfy_page):
    """The settings dialog at the pack's category, once the entry shows what the server has."""
    page = comfy_page.page
    page.get_by_role("button", name="Settings").first.click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("RunComfy", exact=True).first.click()
    entry = dialog.locator(ENTRY)
    entry.wait_for()
    page.wait_for_function(f"document.querySelector('{STATUS}')?.textContent.startsWith('In force')")
    entry.scroll_into_view_if_needed()
    return dialog, entry


def type_limit(entry, text: str) -> None:
    field = entry.locator("input")
    field.fill(text)
    field.press("Enter")


def test_jobs_at_once_set_in_the_settings_dialog(comfy_page, default_limit):
    page, server = comfy_page.page, comfy_page.server
    assert max_parallel(server) == {"jobs": 4, "source": "default"}
    dialog, entry = open_entry(comfy_page)
    field = entry.locator("input")
    assert entry.locator(".rk3-budget-status").inner_text() == "In force: 4 jobs at once (the default)."
    assert field.input_value() == "" and field.get_attribute("placeholder") == "4"
    assert dialog.get_by_text("Jobs at once", exact=True).is_visible()
    # ComfyUI's own input (PrimeVue's, as the token entry), laid out beside the budgets
    look = field.evaluate("""input => {
      const own = getComputedStyle(input), daily = document.querySelector('.rk3-budget-daily input');
      return {primevue: input.classList.contains('p-inputtext'), width: input.getBoundingClientRect().width,
              dailyWidth: daily.getBoundingClientRect().width, font: own.fontFamily,
              dialogFont: getComputedStyle(input.closest('[role=dialog]')).fontFamily};
    }""")
    assert look["primevue"] and look["width"] == look["dailyWidth"] and look["font"] == look["dialogFont"], look
    comfy_page.shot("default")

    for wrong in ("0", "33", "2.5", "four"):
        type_limit(entry, wrong)
        page.wait_for_function(f"document.querySelector('{ERROR}').textContent.includes('whole number of jobs')")
        assert entry.locator(".rk3-budget-error").inner_text() == (
            "Enter a whole number of jobs from 1 to 32, or leave it empty for the default (4).")
        assert max_parallel(server) == {"jobs": 4, "source": "default"}, wrong
    comfy_page.shot("invalid")

    type_limit(entry, "3")
    page.wait_for_function(f"document.querySelector('{STATUS}').textContent.includes('3 jobs at once')")
    assert entry.locator(".rk3-budget-status").inner_text() == "In force: 3 jobs at once, saved in these settings."
    assert entry.locator(".rk3-budget-error").inner_text() == ""
    assert max_parallel(server) == {"jobs": 3, "source": "settings"}
    comfy_page.shot("saved")

    type_limit(entry, "")   # empty: the default again
    page.wait_for_function(f"document.querySelector('{STATUS}').textContent.endsWith('(the default).')")
    assert max_parallel(server) == {"jobs": 4, "source": "default"}
    dialog.get_by_role("button", name="Close dialog").first.click()
    dialog.wait_for(state="detached")

    # a new page reads the saved limit back from the server
    server.post(BUDGET, {"max_parallel": 6})
    comfy_page.open()
    _dialog, entry = open_entry(comfy_page)
    assert entry.locator("input").input_value() == "6"
    assert "6 jobs at once, saved in these settings" in entry.locator(".rk3-budget-status").inner_text()
    assert not comfy_page.errors, comfy_page.errors


def test_the_environment_wins_and_the_entry_says_so(comfy_page, default_limit, monkeypatch):
    page, server = comfy_page.page, comfy_page.server
    server.post(BUDGET, {"max_parallel": 3})   # saved, then overruled by the server's environment
    plain = comfyui_harness.pack_environment
    monkeypatch.setattr(comfyui_harness, "pack_environment", lambda *args, **kwargs: {
        **plain(*args, **kwargs), ENV: "2"})
    restart(server, server.sandbox)
    try:
        assert max_parallel(server) == {"jobs": 2, "source": ENV}
        comfy_page.open()
        dialog, entry = open_entry(comfy_page)
        field = entry.locator("input")
        status = entry.locator(".rk3-budget-status").inner_text()
        assert status == (f"In force: 2 jobs at once, set by the environment variable {ENV} on the server: "
                          "a value saved here does not apply.")
        assert field.input_value() == "2" and field.evaluate("input => input.readOnly")
        comfy_page.shot("environment-wins")
        field.press("End")
        page.keyboard.type("5")
        field.press("Enter")
        assert field.input_value() == "2"          # read-only: nothing typed, nothing sent
        assert max_parallel(server) == {"jobs": 2, "source": ENV}
        dialog.get_by_role("button", name="Close dialog").first.click()
    finally:
        monkeypatch.setattr(comfyui_harness, "pack_environment", plain)
        restart(server, server.sandbox)
    assert max_parallel(server) == {"jobs": 3, "source": "settings"}   # the saved value, once nothing overrules it


# --- the Prompt List node ---------------------------------------------------------------------

def layout(comfy_page, node: int) -> dict:
    """Every widget's top (graph units) and height on screen, and the node's size."""
    return comfy_page.page.evaluate("""id => {
      const node = app.graph.getNodeById(id);
      return {size: [...node.size].map(Math.round), widgets: Object.fromEntries(node.widgets.map((w) =>
        [w.name, [Math.round(w.y), Math.round(w.element?.getBoundingClientRect().height ?? 0)]]))};
    }""", node)


def badges(comfy_page, node: int) -> list[str]:
    return comfy_page.page.evaluate(BADGES, node)


def shot(comfy_page, name: str) -> None:
    """A screenshot with the mouse on an empty spot of the canvas (no hover preview over the nodes)."""
    comfy_page.page.mouse.move(1000, 960)
    comfy_page.page.wait_for_timeout(800)   # the workflow tab's hover preview fades out
    comfy_page.shot(name)


def wait_badge(comfy_page, node: int, text: str) -> None:
    comfy_page.page.wait_for_function(f"({BADGES})({node}).includes({json.dumps(text)})")


def test_prompt_list_counts_and_prices_while_typing_without_moving_a_widget(comfy_page):
    page, server = comfy_page.page, comfy_page.server
    rate = server.get("/runcomfy/kling3/pricing")["per_second_with_sound_usd"]
    estimate = lambda count, seconds=5: f"${count * seconds * rate:.2f}"
    comfy_page.load_template(TEMPLATE)
    node, video = comfy_page.node_id(LIST), comfy_page.node_id(T2V)
    wait_badge(comfy_page, node, f"3 prompts \u00b7 \u2248 {estimate(3)}")
    assert page.evaluate(LINE, node) == f"3 prompts \u00b7 \u2248 {estimate(3)} \u00b7 {estimate(1)} per prompt"
    shot(comfy_page, "loaded")

    # a person clicks at the end of the list and types
    box = page.evaluate_handle(f"app.graph.getNodeById({node}).widgets.find((w) => w.name === 'prompts').element")
    box = box.as_element()
    comfy_page.center_widget(node, "prompts")
    page.wait_for_timeout(300)   # the text boxes follow the canvas on the next frames
    before = layout(comfy_page, node)
    box.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# a note, not a prompt")
    page.keyboard.type("\nA hot air balloon over misty hills at sunrise, slow rise")
    wait_badge(comfy_page, node, f"4 prompts \u00b7 \u2248 {estimate(4)}")
    assert page.evaluate("el => document.activeElement === el", box), "updated while typing, before leaving the box"
    assert page.evaluate(LINE, node) == f"4 prompts \u00b7 \u2248 {estimate(4)} \u00b7 {estimate(1)} per prompt"
    page.keyboard.type("\n\nA paper lantern floating")
    wait_badge(comfy_page, node, f"5 prompts \u00b7 \u2248 {estimate(5)}")
    shot(comfy_page, "typed")
    page.wait_for_timeout(300)
    assert layout(comfy_page, node) == before, "a widget moved while typing"
    for _ in range(len("A paper lantern floating") + 2):
        page.keyboard.press("Backspace")
    wait_badge(comfy_page, node, f"4 prompts \u00b7 \u2248 {estimate(4)}")
    assert layout(comfy_page, node) == before
    # what Run sends holds the typed text: the server counts the same four
    prompt = page.evaluate("app.graphToPrompt().then((p) => p.output)")
    typed = prompt[str(node)]["inputs"]["prompts"]
    assert len([line for line in typed.splitlines() if line.strip() and not line.strip().startswith("#")]) == 4

    # the text-to-video node's duration changes the estimate at once
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement?.blur()")
    comfy_page.step_widget(video, "duration", +1)
    wait_badge(comfy_page, node, f"4 prompts \u00b7 \u2248 {estimate(4, 6)}")

    # nothing connected: the count, and what the estimate needs
    page.evaluate(f"""() => {{ const video = app.graph.getNodeById({video});
      for (const name of ['prompt', 'negative_prompt']) video.disconnectInput(video.inputs.findIndex((i) => i.name === name));
      app.canvas.setDirty(true, true); }}""")
    page.wait_for_function(f"({BADGES})({node})[0] === '4 prompts'")
    line = page.evaluate(LINE, node)
    assert line == "4 prompts \u00b7 the estimate needs a connected text-to-video node", line
    comfy_page.fit_view()
    shot(comfy_page, "not-connected")
    assert not comfy_page.errors, comfy_page.errors


def test_prompt_list_warns_before_the_run_would_stop(comfy_page):
    page = comfy_page.page
    comfy_page.load_template(TEMPLATE)
    node = comfy_page.node_id(LIST)
    wait_badge(comfy_page, node, "3 prompts \u00b7 \u2248 $2.52")
    many = "\n".join(f"shot {i}: a fox in the snow" for i in range(21))
    page.evaluate(f"""() => {{ const w = app.graph.getNodeById({node}).widgets.find((w) => w.name === 'prompts');
      w.element.value = {json.dumps(many)}; w.element.dispatchEvent(new Event('input')); }}""")
    page.wait_for_function(f"({LINE})({node}).includes('at most 20 make one batch')")
    assert page.evaluate(f"app.graph.getNodeById({node}).runcomfyKling3List.line.classList.contains('rk3-list-warn')")
    assert badges(comfy_page, node)[0].startswith("21 prompts")
    comfy_page.fit_view()
    shot(comfy_page, "too-many")
    answer = comfy_page.server.post("/prompt", {"prompt": page.evaluate("app.graphToPrompt().then((p) => p.output)")})
    assert "prompt_id" in answer   # queued: the list node itself refuses it, before anything is sent
    entry = comfy_page.server.wait(answer["prompt_id"])
    assert entry["status"]["status_str"] == "error"
    assert "at most 20 prompts" in json.dumps(entry["status"]["messages"])


def test_prompt_list_keeps_its_layout_after_a_run(comfy_page):
    page, server = comfy_page.page, comfy_page.server
    comfy_page.load_template(TEMPLATE)
    node = comfy_page.node_id(LIST)
    wait_badge(comfy_page, node, "3 prompts \u00b7 \u2248 $2.52")
    comfy_page.center_widget(node, "prompts")
    page.wait_for_timeout(300)
    before = layout(comfy_page, node)
    page.evaluate("""id => { window.rk3ListTexts = [];
      window.comfyAPI.api.api.addEventListener('progress_text', (event) => {
        if (String(event.detail?.nodeId) === String(id)) window.rk3ListTexts.push(event.detail.text); }); }""", node)
    submitted = len(server.sandbox.submissions)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(server.sandbox.submissions) - submitted <= 3
    # ComfyUI's own progress text (the server's summary) would squeeze the text boxes: the line shows it already
    page.wait_for_function("window.rk3ListTexts.length > 0")
    assert page.evaluate("window.rk3ListTexts")[-1].startswith("3 prompts \u00b7 est. $")   # the server's summary
    page.wait_for_timeout(300)
    page.wait_for_function(f"!app.graph.getNodeById({node}).widgets.some((w) => w.name === '$$node-text-preview')")
    page.wait_for_timeout(300)
    assert layout(comfy_page, node) == before, "a widget moved after the run"
    assert page.evaluate(LINE, node).startswith("3 prompts \u00b7 \u2248 $2.52")
    shot(comfy_page, "after-run")
    assert not comfy_page.errors, comfy_page.errors
