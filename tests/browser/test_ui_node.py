"""The nodes as a daily user meets them, in the real frontend: widgets that stay put while the
multi-shot warning comes and goes, the price badge on the title bar, live shot badges instead
of stale titles, advice that is never cut off with a short error type, and ComfyUI's own
progress moving while the video generates."""
from __future__ import annotations

import json
import urllib.request

from browser.comfy_page import _WIDGET_POINT

T2V, SEGMENT = "RunComfyKling3TextToVideo", "RunComfyKling3MultiPromptSegment"
SINGLE, STORY = "kling3_single_shot_with_sound", "kling3_three_shot_story"
STATUS = "(el.querySelector('.rk3-status-text')?.textContent ?? '')"
# the pack's badges (ComfyUI adds its own node-source badge, "RunComfy-Kling3", next to them)
BADGES = ("id => app.graph.getNodeById(id).badges.map((b) => (typeof b === 'function' ? b() : b).text)"
          ".filter((text) => text && !text.startsWith('RunComfy'))")


def widget_tops(comfy_page, node: int) -> dict:
    """Every widget's top (graph units) and each prompt box's height on screen."""
    return comfy_page.page.evaluate("""id => {
      const node = app.graph.getNodeById(id);
      return Object.fromEntries(node.widgets.filter((w) => w.name !== 'runcomfy_kling3_panel')
        .map((w) => [w.name, [Math.round(w.y), Math.round(w.element?.getBoundingClientRect().height ?? 0)]]));
    }""", node)


def test_ui_widgets_stay_put_when_the_multi_shot_warning_appears(comfy_page):
    page = comfy_page.page
    comfy_page.load_template(STORY)
    node = comfy_page.node_id(T2V)
    comfy_page.wait_panel(node, "el.textContent.includes('3 shots, 12 s of 12 s')")
    # a person edits after the workflow has loaded: until then the panel fits the saved size
    page.wait_for_function(f"Date.now() >= app.graph.getNodeById({node}).runcomfyKling3Panel.settledAt")
    before = widget_tops(comfy_page, node)
    size_before = page.evaluate("id => [...app.graph.getNodeById(id).size]", node)
    comfy_page.shot("before-warning")

    # the two clicks on duration's left arrow, at one place on the screen
    comfy_page.settle()
    point = page.evaluate(_WIDGET_POINT, [node, "duration", "left"])
    comfy_page.settle()
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(f"app.graph.getNodeById({node}).widgets.find((w) => w.name === 'duration').value === 11")
    comfy_page.wait_panel(node, "el.querySelector('.rk3-warn') !== null")
    page.wait_for_timeout(400)   # the panel has been laid out again with its warning
    with_warning = widget_tops(comfy_page, node)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(f"app.graph.getNodeById({node}).widgets.find((w) => w.name === 'duration').value !== 11")
    comfy_page.shot("warning-shown")

    assert comfy_page.widget_value(node, "duration") == 10
    assert comfy_page.widget_value(node, "cfg_scale") == 0.5
    assert with_warning == before, (before, with_warning)
    assert widget_tops(comfy_page, node) == before
    size_after = page.evaluate("id => [...app.graph.getNodeById(id).size]", node)
    assert size_after[1] > size_before[1], "the node grew below its widgets instead"

    comfy_page.step_widget(node, "duration", +2)   # adds up again: the warning goes
    comfy_page.wait_panel(node, "el.querySelector('.rk3-warn') === null")
    page.wait_for_timeout(400)
    assert widget_tops(comfy_page, node) == before
    assert not comfy_page.errors, comfy_page.errors


def test_ui_price_badge_on_the_title_bar_follows_duration_sound_and_shots(comfy_page, artifacts_dir):
    page = comfy_page.page
    pricing = comfy_page.server.get("/runcomfy/kling3/pricing")
    price = lambda seconds, sound: f"\u2248 ${seconds * pricing['per_second_with_sound_usd' if sound else 'per_second_usd']:.2f}"
    comfy_page.load_template(STORY)
    node = comfy_page.node_id(T2V)
    page.wait_for_function(f"({BADGES})({node}).includes({price(12, True)!r})")
    comfy_page.step_widget(node, "duration", +1)
    page.wait_for_function(f"({BADGES})({node}).includes({price(13, True)!r})")
    comfy_page.click_widget(node, "sound")
    page.wait_for_function(f"({BADGES})({node}).includes({price(13, False)!r})")
    # the detailed line stays in the panel
    assert "13 s \u00d7" in comfy_page.panel_text(node)

    page.evaluate(f"app.graph.getNodeById({node}).collapse(true)")
    comfy_page.fit_view()
    assert page.evaluate(BADGES, node) == [price(13, False)]
    comfy_page.shot("price-badge-collapsed")
    page.evaluate(f"app.graph.getNodeById({node}).collapse(false)")
    comfy_page.fit_view()
    comfy_page.shot("price-badge")


def test_ui_shot_nodes_show_their_number_and_current_length(comfy_page):
    page = comfy_page.page
    comfy_page.load_template(STORY)
    shots = [comfy_page.node_id(SEGMENT, i) for i in range(3)]
    page.wait_for_function(f"({BADGES})({shots[2]}).length > 0")
    assert [page.evaluate(BADGES, shot) for shot in shots] == [["Shot 1 \u00b7 4 s"], ["Shot 2 \u00b7 4 s"], ["Shot 3 \u00b7 4 s"]]
    titles = page.evaluate(f"ids => ids.map((id) => app.graph.getNodeById(id).title)", shots)
    assert not any(" s)" in title or "Shot " in title for title in titles), titles

    comfy_page.step_widget(shots[2], "duration", +1)
    page.wait_for_function(f"({BADGES})({shots[2]})[0] === 'Shot 3 \u00b7 5 s'")
    comfy_page.fit_view()
    comfy_page.shot("shot-badges")
    # a new shot node has its badge too
    fresh = page.evaluate(f"""() => {{ const n = LiteGraph.createNode({SEGMENT!r}); n.pos = [40, 1500];
      app.graph.add(n); return n.id; }}""")
    page.wait_for_function(f"({BADGES})({fresh})[0]?.startsWith('Shot 1 \u00b7 ')")


def test_ui_bad_key_advice_is_whole_and_the_error_type_is_short(comfy_page):
    server = comfy_page.server
    post(server, "/runcomfy/kling3/token", {"token": "sandbox-not-a-real-key"})
    try:
        comfy_page.load_template(SINGLE)
        node = comfy_page.node_id(T2V)
        comfy_page.step_widget(node, "seed", +3)
        entry = comfy_page.run()
        assert entry["status"]["status_str"] == "error", entry["status"]
        error = next(data for kind, data in entry["status"]["messages"] if kind == "execution_error")
        assert error["exception_type"] == "RunComfyKling3.AuthenticationError", error["exception_type"]
        assert "/" not in error["exception_type"] and "\\" not in error["exception_type"]
        comfy_page.wait_panel(node, f"{STATUS}.startsWith('Failed')")
        text = comfy_page.page.evaluate(f"id => {{ const el = app.graph.getNodeById(id).runcomfyKling3Panel.inner; return {STATUS}; }}", node)
        assert "Settings \u2192 RunComfy" in text and "RUNCOMFY_API_TOKEN" not in text, text
        assert "\u2026" not in text and text.rstrip(".").endswith(error["exception_message"].strip().rstrip(".")[-30:]), text
        element = comfy_page.panel(node).query_selector(".rk3-status-text")
        assert element.evaluate("e => e.scrollHeight <= e.clientHeight + 1"), "the advice is cut off"
        comfy_page.page.keyboard.press("Escape")
        comfy_page.center_widget(node, "runcomfy_kling3_panel")
        comfy_page.shot("bad-key-advice")
    finally:
        request = urllib.request.Request(server.base_url + "/runcomfy/kling3/token", method="DELETE", data=b"{}",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).read()


def test_ui_comfyui_progress_moves_while_the_video_generates(comfy_page):
    page, sandbox = comfy_page.page, comfy_page.server.sandbox
    comfy_page.load_template(SINGLE)
    node = comfy_page.node_id(T2V)
    comfy_page.step_widget(node, "seed", +5)   # new inputs: a new paid job
    page.evaluate("""id => { window.rk3Progress = [];
      const api = window.comfyAPI?.api?.api ?? app.api;
      api.addEventListener('progress', (e) => {
        const el = app.graph.getNodeById(id)?.runcomfyKling3Panel?.inner;
        window.rk3Progress.push({...e.detail, status: el?.querySelector('.rk3-status-text')?.textContent ?? ''});
      }); }""", node)
    saved = sandbox.settings.queue_seconds, sandbox.settings.run_seconds
    sandbox.settings.queue_seconds, sandbox.settings.run_seconds = 1.0, 6.0
    try:
        prompt_id = comfy_page.press_run()
        comfy_page.wait_panel(node, f"{STATUS}.startsWith('Generating') && el.querySelector('.rk3-progress') !== null")
        page.wait_for_function(f"window.rk3Progress.filter((p) => String(p.node) === '{node}' && p.value > 0 && p.value < p.max).length >= 3",
                               timeout=30_000)
        comfy_page.center_widget(node, "runcomfy_kling3_panel")
        comfy_page.shot("progress-while-generating")
        text = comfy_page.page.evaluate(f"id => {{ const el = app.graph.getNodeById(id).runcomfyKling3Panel.inner; return {STATUS}; }}", node)
        assert "left" in text, text   # an estimate from the first run on
        entry = comfy_page.server.wait(prompt_id)
    finally:
        sandbox.settings.queue_seconds, sandbox.settings.run_seconds = saved
    assert entry["status"]["status_str"] == "success", entry["status"]
    events = [p for p in page.evaluate("window.rk3Progress") if str(p["node"]) == str(node)]
    during = [p["value"] / p["max"] for p in events if p["value"] < p["max"]]
    assert len(set(during)) >= 3 and during == sorted(during), during   # it moves, never back
    assert events[-1]["value"] == events[-1]["max"]
    assert not any("longer than usual" in p["status"] for p in events)


def post(server, path: str, body: dict) -> dict:
    request = urllib.request.Request(server.base_url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())
