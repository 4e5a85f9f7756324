"""Every example workflow opens from ComfyUI's template browser and runs against the sandbox."""
from __future__ import annotations

import json

import pytest

from pack_loader import PACK_DIR

EXAMPLES = sorted(path.stem for path in (PACK_DIR / "example_workflows").glob("*.json"))


def test_the_template_browser_lists_every_example(comfy_page):
    dialog = comfy_page.template_dialog()
    dialog.locator("[data-testid^=template-workflow-] img").first.wait_for()
    comfy_page.shot("template-browser")
    assert sorted(comfy_page.listed_templates(dialog)) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_loads_from_the_templates_menu_and_runs(comfy_page, name):
    server, sandbox = comfy_page.server, comfy_page.server.sandbox
    comfy_page.load_template(name, shot_name="card")
    comfy_page.shot("loaded")
    types = comfy_page.page.evaluate("app.graph.nodes.map((n) => n.type)")
    assert "RunComfyKling3TextToVideo" in types
    node = comfy_page.node_id("RunComfyKling3TextToVideo")
    submitted_before = len(sandbox.submissions)

    entry = comfy_page.run()

    assert entry["status"]["status_str"] == "success", entry["status"]
    # never paid twice: no request body submitted twice, at most one per video saved (an
    # earlier example with the same inputs is not paid again: none then)
    bodies = [json.dumps(body, sort_keys=True) for body in sandbox.submissions[submitted_before:]]
    assert len(set(bodies)) == len(bodies)
    comfy_page.wait_panel(node, "el.querySelector('.rk3-dot.rk3-done') !== null")
    assert str(node) in entry["outputs"]  # the node's own video preview
    saved = [item for output in entry["outputs"].values() for item in output.get("images", [])
             if item.get("type") == "output"]
    assert saved and all((server.base_dir / "output" / i["subfolder"] / i["filename"]).is_file() for i in saved)
    assert len(bodies) <= len(saved)
    comfy_page.fit_view()
    comfy_page.shot("ran")
    assert not comfy_page.errors, comfy_page.errors
