"""Korean, Chinese and Japanese through ComfyUI's own language setting (Comfy.Locale): the node's
title and an input's tooltip (translated by ComfyUI's frontend from locales/<lang>/nodeDefs.json),
the panel's cost line (the pack's web/js/kling3_i18n.js, from main.json) and the token settings
entry (settings.json). The texts the pack hands to the frontend once, the Spending tab's title and
tooltip and the templates' titles, follow the switch at once and are right after a reload too.
One screenshot per language is also kept as docs/locales/<lang>.png (when the machine has CJK
fonts, e.g. Debian's fonts-noto-cjk; without them the checks still run)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from browser.comfy_page import PANEL, T2V
from pack_loader import PACK_DIR

LANGUAGES = ("ko", "zh", "ja")
TEMPLATE = "kling3_single_shot_with_sound"
TOOLTIP_INPUT = "seed"
TAB_ID = "runcomfy-kling3-history"   # the Spending tab (web/js/kling3_history.js)
TEMPLATES_BUTTON = re.compile("Templates|템플릿|模板|テンプレート")
DOCS = PACK_DIR / "docs" / "locales"


def locale(lang: str, name: str) -> dict:
    return json.loads((PACK_DIR / "locales" / lang / name).read_text(encoding="utf-8"))


def cost_key() -> str:
    """The main.json key of the panel's cost line (found by its English text)."""
    english = locale("en", "main.json")["kling3"]
    found = [f"{group}.{name}" for group, texts in english.items() if isinstance(texts, dict)
             for name, text in texts.items() if isinstance(text, str) and text.startswith("Estimated cost")]
    assert found, "no 'Estimated cost ...' text in locales/en/main.json (is the cost line drawn through t()?)"
    return found[0]


def text_at(lang: str, dotted: str) -> str:
    value = locale(lang, "main.json")["kling3"]
    for part in dotted.split("."):
        value = value[part]
    return value


def set_language(comfy_page, lang: str) -> None:
    """Switch Comfy.Locale through the settings API, as the settings dialog does."""
    comfy_page.page.evaluate("lang => app.extensionManager.setting.set('Comfy.Locale', lang)", lang)


def open_templates(comfy_page):
    """comfy_page.template_dialog, with the sidebar button found by its translated name."""
    page = comfy_page.page
    page.get_by_role("button", name=TEMPLATES_BUTTON).first.click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_role("button", name=comfy_page.server.pack_folder).click()
    dialog.get_by_test_id(f"template-workflow-{TEMPLATE}").wait_for()
    return dialog


def reopen(comfy_page) -> int:
    """Reload ComfyUI and open the example again. ComfyUI 1.43 translates its menus at once when
    Comfy.Locale changes but keeps the titles of nodes already on the canvas until the page is
    loaded again (new nodes get the new language). The text-to-video node's id."""
    page = comfy_page.page
    comfy_page.open()
    dialog = open_templates(comfy_page)
    dialog.get_by_test_id(f"template-workflow-{TEMPLATE}").click()
    dialog.wait_for(state="detached")
    page.wait_for_function(f"() => app.graph.nodes.some((n) => n.type === '{T2V}')")
    comfy_page.fit_view()
    return comfy_page.node_id(T2V)


_WIDGET_ON_SCREEN = """([nodeId, name]) => {
  const canvas = app.canvas, node = app.graph.getNodeById(nodeId);
  const widget = node.widgets.find((w) => w.name === name);
  const height = widget.computedHeight || widget.height || LiteGraph.NODE_WIDGET_HEIGHT || 20;
  const rect = canvas.canvas.getBoundingClientRect(), scale = canvas.ds.scale, offset = canvas.ds.offset;
  const x = node.pos[0] + (widget.width || node.size[0]) / 2, y = node.pos[1] + widget.y + height / 2;
  return {x: rect.left + (x + offset[0]) * scale, y: rect.top + (y + offset[1]) * scale};
}"""


def hover_tooltip(comfy_page, node: int, name: str) -> str:
    """Rest the mouse on a canvas-drawn widget (the view as it is, the whole graph in sight) until
    ComfyUI shows its tooltip; the tooltip's text."""
    page = comfy_page.page
    comfy_page.settle()
    point = page.evaluate(_WIDGET_ON_SCREEN, [node, name])
    page.mouse.move(point["x"] - 30, point["y"])
    page.mouse.move(point["x"], point["y"], steps=3)
    tooltip = page.locator(".node-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    return tooltip.inner_text().strip()


_SPENDING_TAB = """async ([id, tooltip]) => {
  const read = () => {
    const tab = app.extensionManager.getSidebarTabs().find((t) => t.id === id);
    const button = document.querySelector(`.${id}-tab-button`);
    return {title: tab?.title, tooltip: tab?.tooltip, aria: button?.getAttribute('aria-label') ?? null,
            label: button?.querySelector('.side-bar-button-label')?.textContent.trim() ?? null};
  };
  for (let waited = 0; waited < 10000 && !read().aria?.startsWith(tooltip); waited += 100) {
    await new Promise((done) => setTimeout(done, 100));
  }
  return read();
}"""


def check_spending_tab(comfy_page, lang: str) -> None:
    """The Spending tab's title and tooltip in ``lang``: in the tab the frontend holds, on its sidebar
    button (aria-label, the text of its hover tooltip; SidebarIcon shows st(tooltip, tooltip)) and
    under its icon (the label: the title, unless the sidebar is set to small)."""
    title, tooltip = text_at(lang, "spending.title"), text_at(lang, "spending.tooltip")
    seen = comfy_page.page.evaluate(_SPENDING_TAB, [TAB_ID, tooltip])
    assert (seen["title"], seen["tooltip"]) == (title, tooltip), seen
    assert seen["aria"] and seen["aria"].startswith(tooltip), seen
    assert seen["label"] in (None, title), seen


_CARD_TITLE = """async ([name, title]) => {
  const read = () => document.querySelector(`[data-testid="template-workflow-${name}"] h3`)?.textContent.trim() ?? null;
  for (let waited = 0; waited < 10000 && read() !== title; waited += 100) {
    await new Promise((done) => setTimeout(done, 100));
  }
  return read();
}"""


def check_template_title(comfy_page, lang: str) -> None:
    """The example's card in the template browser has its title in ``lang`` (web/js/kling3_templates.js;
    after a live switch once the frontend has fetched its template list for the language again)."""
    title = text_at(lang, "templates.single.title")
    dialog = open_templates(comfy_page)
    assert comfy_page.page.evaluate(_CARD_TITLE, [TEMPLATE, title]) == title
    comfy_page.page.keyboard.press("Escape")
    dialog.wait_for(state="detached")


def cjk_fonts_present() -> bool:
    """Whether the browser can draw Korean, Chinese and Japanese (else the screenshots show boxes:
    Debian's fonts-noto-cjk). Assumed on systems without fontconfig (Windows, macOS have them)."""
    if shutil.which("fc-list") is None:
        return True
    for lang in LANGUAGES:
        listed = subprocess.run(["fc-list", f":lang={lang}"], capture_output=True, text=True, check=False)
        if not listed.stdout.strip():
            return False
    return True


def open_settings_entry(comfy_page, name: str):
    """The settings dialog at the pack's category, showing the entry called ``name``."""
    page = comfy_page.page
    page.get_by_role("button", name=re.compile("Settings|設定|设置|설정")).first.click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("RunComfy", exact=True).first.click()
    entry = dialog.get_by_text(name, exact=True).first
    entry.wait_for()
    return dialog, entry


@pytest.fixture
def english_afterwards(comfy_page):
    """The language setting is stored on the server: put English back for the other tests."""
    yield
    comfy_page.page.evaluate("app.extensionManager.setting.set('Comfy.Locale', 'en')")
    comfy_page.page.wait_for_function(
        "title => app.graph.nodes.length === 0 || app.graph.nodes.some((n) => n.title === title)",
        arg=locale("en", "nodeDefs.json")[T2V]["display_name"], timeout=60_000)


def cost_text(lang: str) -> str:
    """The cost line's text up to its first placeholder, in ``lang``."""
    return text_at(lang, cost_key()).split("{", 1)[0].strip()


def test_korean_chinese_and_japanese_through_comfy_locale(comfy_page, english_afterwards):
    page = comfy_page.page
    node = (comfy_page.load_template(TEMPLATE), comfy_page.node_id(T2V))[1]
    seen = {}
    for lang in LANGUAGES:
        set_language(comfy_page, lang)
        # the pack's panel follows the switch at once (it reads the locale on every refresh)
        comfy_page.wait_panel(node, f"el.textContent.includes({json.dumps(cost_text(lang))})")
        # so do the texts handed to the frontend once: the Spending tab's (written into the tab it holds)
        # and the templates' titles (set again when the frontend rebuilds its list for the language)
        check_spending_tab(comfy_page, lang)
        check_template_title(comfy_page, lang)

        node = reopen(comfy_page)
        check_spending_tab(comfy_page, lang)   # registered in that language after the reload
        defs = locale(lang, "nodeDefs.json")[T2V]
        # the node's title and its inputs' labels: ComfyUI's frontend, from nodeDefs.json
        assert page.evaluate("id => app.graph.getNodeById(id).title", node) == defs["display_name"]
        label = page.evaluate("([id, n]) => app.graph.getNodeById(id).widgets.find((w) => w.name === n).label",
                              [node, TOOLTIP_INPUT])
        assert label == defs["inputs"][TOOLTIP_INPUT]["name"]

        # the cost line: the pack's own text through kling3_i18n.js, from main.json
        comfy_page.wait_panel(node, f"el.textContent.includes({json.dumps(cost_text(lang))})")
        panel = page.locator(PANEL).first.inner_text()
        assert cost_text("en") not in panel, panel
        assert re.search(r"\$\d+\.\d\d", panel), panel   # the amount is filled in

        # a tooltip, as a user sees it by resting the mouse on the widget
        tooltip = hover_tooltip(comfy_page, node, TOOLTIP_INPUT)
        assert tooltip == defs["inputs"][TOOLTIP_INPUT]["tooltip"], tooltip
        seen[lang] = comfy_page.shot(f"{lang}-node")

        # the settings entry
        setting = locale(lang, "settings.json")["RunComfy_Kling3_ApiToken"]
        dialog, entry = open_settings_entry(comfy_page, setting["name"])
        assert entry.is_visible()
        assert locale("en", "settings.json")["RunComfy_Kling3_ApiToken"]["name"] not in dialog.inner_text()
        comfy_page.shot(f"{lang}-settings")
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")
        assert not comfy_page.errors, comfy_page.errors

    # what the extension registers is what locales/en/settings.json translates from
    registered = page.evaluate("""() => Object.values(app.extensionManager.setting.settings)
        .filter((s) => s.id.startsWith('RunComfy.')).map(({id, name, tooltip}) => ({id, name, tooltip}))""")
    assert registered
    for lang in ("en", *LANGUAGES):
        entries = locale(lang, "settings.json")
        assert {s["id"].replace(".", "_") for s in registered} == set(entries), lang
    english = locale("en", "settings.json")
    for setting in registered:
        entry = english[setting["id"].replace(".", "_")]
        assert (entry["name"], entry.get("tooltip")) == (setting["name"], setting.get("tooltip")), setting["id"]

    if cjk_fonts_present():   # docs/locales/ keeps readable pictures only
        DOCS.mkdir(parents=True, exist_ok=True)
        for lang, shot in seen.items():
            shutil.copyfile(shot, DOCS / f"{lang}.png")
