"""A compact text-to-video node after a run, in the real frontend: with Save Video attached to
`video` the node shows no second preview and keeps its height; without it the preview shows,
plays, and adds at most 360 px below the widgets; the setting "Video preview on the
text-to-video node" (RunComfy.Kling3.NodePreview) switches it to always, collapsed or never."""
from __future__ import annotations

import shutil

from pack_loader import PACK_DIR

T2V, SETTING = "RunComfyKling3TextToVideo", "RunComfy.Kling3.NodePreview"
SINGLE, ONWARD = "kling3_single_shot_with_sound", "kling3_frames_and_sound_onward"
MAX_PREVIEW = 360
SLACK = 8   # the preview widget's margins
# "rest": the node's height less the panel's (whose status line after a run may add a row)
STATE = """id => { const n = app.graph.getNodeById(id);
  const w = n.widgets.find((w) => w.name === 'video-preview');
  const v = w?.element?.querySelector('video');
  const box = v?.getBoundingClientRect();
  const panel = n.widgets.find((x) => x.name === 'runcomfy_kling3_panel').computedHeight;
  return {height: n.size[1], rest: Math.round(n.size[1] - panel), exists: !!w, hidden: w ? !!w.hidden : null, preview: w?.computedHeight ?? 0,
    visible: !!box && box.height > 0 && getComputedStyle(w.element.parentElement ?? w.element).display !== 'none'
      && !!v.offsetParent,
    tops: n.widgets.filter((x) => x.name !== 'video-preview').map((x) => Math.round(x.y)),
    toggle: n.runcomfyKling3Panel.inner.querySelector('.rk3-preview-toggle')?.textContent ?? null}; }"""


def set_mode(comfy_page, mode: str) -> None:
    comfy_page.page.evaluate("([id, v]) => app.extensionManager.setting.set(id, v)", [SETTING, mode])
    comfy_page.page.wait_for_timeout(300)   # a few frames: the layout follows the setting


def state(comfy_page, node: int) -> dict:
    comfy_page.page.evaluate("app.canvas.setDirty(true, true)")
    comfy_page.page.wait_for_timeout(200)
    return comfy_page.page.evaluate(STATE, node)


def run_new_job(comfy_page, node: int, steps: int) -> None:
    comfy_page.step_widget(node, "seed", steps)   # new inputs: a new job, not a cached result
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert str(node) in entry["outputs"], "the server still returns the node's own preview"
    comfy_page.wait_panel(node, "el.querySelector('.rk3-dot.rk3-done') !== null")
    comfy_page.page.wait_for_function(
        "id => app.graph.getNodeById(id).widgets.find((w) => w.name === 'video-preview')"
        "?.element?.querySelector('video')?.videoWidth > 0", arg=node, timeout=30_000)
    comfy_page.page.wait_for_timeout(400)


def show_node(comfy_page, node: int) -> None:
    comfy_page.page.evaluate("app.canvas.ds.scale = 0.8")
    comfy_page.center_widget(node, "runcomfy_kling3_panel")
    comfy_page.page.wait_for_timeout(300)


def test_ui_compact_with_save_video_no_second_preview_and_the_setting_switches_it(comfy_page):
    page = comfy_page.page
    set_mode(comfy_page, "auto")
    try:
        comfy_page.load_template(SINGLE)
        node = comfy_page.node_id(T2V)
        before = state(comfy_page, node)
        run_new_job(comfy_page, node, 7)
        save = comfy_page.node_id("SaveVideo")
        page.wait_for_function("id => app.graph.getNodeById(id).widgets?.some((w) => w.name === 'video-preview')", arg=save)

        after = state(comfy_page, node)
        assert after["exists"] and after["hidden"] and not after["visible"], after
        assert abs(after["rest"] - before["rest"]) <= SLACK, (before, after)
        assert after["tops"] == before["tops"] and after["toggle"] is None
        show_node(comfy_page, node)
        comfy_page.shot("save-video-attached-no-second-preview")

        set_mode(comfy_page, "always")
        always = state(comfy_page, node)
        assert not always["hidden"] and always["visible"], always
        assert 64 <= always["preview"] <= MAX_PREVIEW + SLACK, always
        assert always["rest"] <= before["rest"] + MAX_PREVIEW + SLACK, (before, always)
        assert always["tops"] == before["tops"], "the widgets moved when the preview showed"
        show_node(comfy_page, node)
        comfy_page.shot("always")

        set_mode(comfy_page, "collapsed")
        collapsed = state(comfy_page, node)
        assert collapsed["hidden"] and not collapsed["visible"] and "Show" in (collapsed["toggle"] or ""), collapsed
        comfy_page.panel(node).query_selector(".rk3-preview-toggle").click()
        page.wait_for_timeout(300)
        expanded = state(comfy_page, node)
        assert not expanded["hidden"] and expanded["visible"] and "Hide" in expanded["toggle"], expanded
        assert expanded["rest"] <= before["rest"] + MAX_PREVIEW + SLACK, (before, expanded)
        show_node(comfy_page, node)
        comfy_page.shot("collapsed-then-expanded")

        set_mode(comfy_page, "never")
        never = state(comfy_page, node)
        assert never["hidden"] and not never["visible"] and never["toggle"] is None, never
        assert abs(never["rest"] - before["rest"]) <= SLACK, (before, never)
        assert never["tops"] == before["tops"]
        assert not comfy_page.errors, comfy_page.errors
    finally:
        set_mode(comfy_page, "auto")


def test_ui_compact_without_save_video_the_preview_shows_plays_and_stays_small(comfy_page, artifacts_dir):
    page = comfy_page.page
    set_mode(comfy_page, "auto")
    comfy_page.load_template(ONWARD)   # `video` is not linked: the frames go on to other nodes
    node = comfy_page.node_id(T2V)
    before = state(comfy_page, node)
    run_new_job(comfy_page, node, 9)

    after = state(comfy_page, node)
    assert after["exists"] and not after["hidden"] and after["visible"], after
    assert 64 <= after["preview"] <= MAX_PREVIEW + SLACK, after   # a vertical clip: capped
    assert after["rest"] <= before["rest"] + MAX_PREVIEW + SLACK, (before, after)
    assert after["tops"] == before["tops"], "the widgets moved when the preview showed"
    video = comfy_page.video_element(node)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.readyState >= 2 && !v.paused && v.currentTime > 0.3", arg=video)
    # the video is drawn inside the node's outline
    inside = page.evaluate("""id => { const n = app.graph.getNodeById(id), c = app.canvas;
      const r = c.canvas.getBoundingClientRect(), s = c.ds.scale;
      const bottom = r.top + (n.pos[1] + n.size[1] + c.ds.offset[1]) * s;
      const v = n.widgets.find((w) => w.name === 'video-preview').element.getBoundingClientRect();
      return v.bottom <= bottom + 2; }""", node)
    assert inside, "the preview runs past the node's bottom edge"
    page.evaluate("app.canvas.ds.scale = 0.8")
    comfy_page.center_widget(node, "runcomfy_kling3_panel")
    page.wait_for_timeout(400)
    path = comfy_page.shot("node-after-run-compact")
    shutil.copyfile(path, PACK_DIR / "docs" / "ui" / "after-node-compact.png")
    assert not comfy_page.errors, comfy_page.errors
