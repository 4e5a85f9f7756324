"""The three places a daily user sees the pack, photographed as they are: the text-to-video node
of the three-shot example after a run, the template browser, and the token settings entry.
The screenshots (``ui-node.png``, ``ui-templates.png``, ``ui-settings.png`` in the run's folder)
are the before/after pictures of the UI; the assertions check the layout rules they show."""
from __future__ import annotations

import shutil

from browser.test_token_settings import open_token_setting

T2V = "RunComfyKling3TextToVideo"
STORY = "kling3_three_shot_story"


def keep(comfy_page, artifacts_dir, name: str) -> None:
    path = comfy_page.shot(name)
    shutil.copyfile(path, artifacts_dir / f"ui-{name}.png")


def test_ui_overview_node_templates_and_settings(comfy_page, artifacts_dir):
    dialog = comfy_page.template_dialog()
    dialog.locator("[data-testid^=template-workflow-] img").first.wait_for()
    comfy_page.page.wait_for_timeout(500)
    keep(comfy_page, artifacts_dir, "templates")
    cards = dialog.locator("[data-testid^=template-workflow-]:not([data-testid$=-content])").evaluate_all(
        """cards => cards.map((card) => ({name: card.dataset.testid.replace('template-workflow-', ''),
          title: card.querySelector('h3')?.textContent.trim(), text: card.innerText,
          image: card.querySelector('img')?.getAttribute('src')}))""")
    ours = [card for card in cards if card["name"].startswith("kling3_")]
    assert len(ours) >= 4
    for card in ours:   # a human title and a one-line description, not the file name twice
        assert card["title"].startswith("Kling 3.0 \u00b7 ") and "_" not in card["title"], card
        assert card["name"] not in card["text"] and card["name"].replace("_", " ") not in card["text"], card
    thumbnails = {card["name"]: (comfy_page.server.examples_dir / f"{card['name']}.jpg").read_bytes() for card in ours}
    assert len(set(thumbnails.values())) == len(thumbnails), "two examples share a thumbnail"
    comfy_page.page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    comfy_page.load_template(STORY)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", entry["status"]
    node = comfy_page.node_id(T2V)
    comfy_page.wait_panel(node, "el.querySelector('.rk3-dot.rk3-done') !== null")
    # close enough that LiteGraph draws text and badges (it leaves them out when zoomed far out)
    comfy_page.page.evaluate("app.canvas.ds.scale = 0.8")
    comfy_page.center_widget(node, "cfg_scale")
    comfy_page.page.wait_for_timeout(500)
    keep(comfy_page, artifacts_dir, "node")

    dialog, entry = open_token_setting(comfy_page)
    comfy_page.page.wait_for_timeout(300)
    keep(comfy_page, artifacts_dir, "settings")
    # ComfyUI's own controls: the settings search field's font, PrimeVue's input and buttons
    assert "p-inputtext" in entry.locator("input").get_attribute("class")
    assert all("p-button" in cls for cls in entry.locator("button").evaluate_all("bs => bs.map((b) => b.className)"))
    fonts = comfy_page.page.evaluate("""() => [getComputedStyle(document.querySelector('.rk3-token input')).fontSize,
      getComputedStyle(document.querySelector('[role=dialog] input:not(.rk3-token input)')).fontSize]""")
    assert fonts[0] == fonts[1], fonts
