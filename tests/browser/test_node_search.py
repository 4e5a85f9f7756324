"""The price in ComfyUI's node search: a double-click on the canvas, "Kling", and the text-to-video
node's result shows what a video at the node's default settings costs, in US dollars.

Frontend 1.43 draws its own price badge in a search result only for Comfy API nodes, in Comfy
credits; the pack's node is no API node (no credits, no yellow colour, no Partner-nodes filing),
so the price is the first thing of the description the result row shows under the node's name.
The same text is in the search's preview card. The price follows the pack's pricing route (the
current API price once it has answered), and a node added from the search shows the same price on
its title bar."""
from __future__ import annotations

import json
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser.comfy_page import T2V
from pack_loader import PACK_DIR

QUERY = "Kling"
PRICING_ROUTE = "/runcomfy/kling3/pricing"
# the pack's badges (ComfyUI adds its own node-source badge, "RunComfy-Kling3", next to them)
BADGES = ("id => app.graph.getNodeById(id).badges.map((b) => (typeof b === 'function' ? b() : b).text)"
          ".filter((text) => text && !text.startsWith('RunComfy'))")


def locale(lang: str, name: str) -> dict:
    return json.loads((PACK_DIR / "locales" / lang / name).read_text(encoding="utf-8"))


def display_name(lang: str = "en") -> str:
    return locale(lang, "nodeDefs.json")[T2V]["display_name"]


def default_price(server, pricing: dict) -> str:
    """"≈ $0.84 for a 5 s video with sound": the node's defaults from /object_info at ``pricing``."""
    required = server.get(f"/object_info/{T2V}")[T2V]["input"]["required"]
    seconds, sound = required["duration"][1]["default"], required["sound"][1]["default"]
    rate = pricing["per_second_with_sound_usd" if sound else "per_second_usd"]
    return f"\u2248 ${seconds * rate:.2f} for a {seconds} s video with{'' if sound else 'out'} sound"


def open_search(comfy_page, query: str):
    """A blank workflow, a double-click on the empty canvas, ``query`` typed."""
    page = comfy_page.page
    before = page.evaluate("app.extensionManager.workflow.activeWorkflow?.path ?? null")
    comfy_page.command("Comfy.NewBlankWorkflow")
    # the new tab is set up after the command returns: a double-click before that is lost
    page.wait_for_function("before => app.extensionManager.workflow.activeWorkflow?.path !== before"
                           " && app.graph.nodes.length === 0", arg=before)
    comfy_page.settle()
    box = page.evaluate("(() => { const r = app.canvas.canvas.getBoundingClientRect();"
                        " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()")
    page.mouse.dblclick(box["x"], box["y"])
    field = page.locator("input:focus")
    field.wait_for()
    field.type(query, delay=20)
    page.get_by_test_id("result-item").first.wait_for()


def search_row(comfy_page, expected_price: str, lang: str = "en"):
    """The text-to-video node's result row, once it shows ``expected_price``."""
    open_search(comfy_page, QUERY)
    # the row named so (other nodes' descriptions mention the text-to-video node)
    name = display_name(lang)
    row = comfy_page.page.get_by_role("option", name=re.compile("^" + re.escape(name)))
    row.wait_for()
    comfy_page.page.wait_for_function(
        "([name, price]) => [...document.querySelectorAll('[data-testid=result-item]')]"
        ".some((el) => el.textContent.trim().startsWith(name) && el.textContent.includes(price))",
        arg=[name, expected_price], timeout=30_000)
    return row


def add_from_search(comfy_page, row) -> int:
    """Click the result, then the canvas where the node goes (the search adds it as a ghost that
    follows the mouse until then): the new node's id."""
    page = comfy_page.page
    row.click()
    page.wait_for_function(f"app.graph.nodes.some((n) => n.type === '{T2V}')")
    node = comfy_page.node_id(T2V)
    box = page.evaluate("(() => { const r = app.canvas.canvas.getBoundingClientRect();"
                        " return {x: r.left + r.width / 3, y: r.top + r.height / 4}; })()")
    placed = "id => !app.graph.getNodeById(id).flags?.ghost"
    for attempt in range(5):
        # the ghost takes the pointer only once the search has closed: a click before that is
        # lost, so move (as a person does) and click again until it lands
        x, y = box["x"] + 12 * attempt, box["y"] + 8 * attempt
        page.mouse.move(x, y, steps=4)
        page.mouse.click(x, y)
        try:
            page.wait_for_function(placed, arg=node, timeout=3000)
            return node
        except PlaywrightTimeoutError:
            continue
    page.wait_for_function(placed, arg=node)
    return node


def test_node_search_shows_the_price_in_dollars(comfy_page):
    page, server = comfy_page.page, comfy_page.server
    price = default_price(server, server.get(PRICING_ROUTE))
    row = search_row(comfy_page, price)
    row.hover()   # the search's preview card shows the whole description
    text = row.inner_text()
    assert re.search(re.escape(price) + r", billed in US dollars by RunComfy\.", text), text
    assert "credit" not in text.lower(), text
    page.wait_for_function(   # the preview card beside the results: the whole description
        "price => [...document.querySelectorAll('p')].some((p) => p.textContent.startsWith(price)"
        " && !p.closest('[data-testid=result-item]'))", arg=price)
    comfy_page.shot("search-kling-price")

    # no Comfy API node: none of the frontend's credits badges, no API-node yellow
    assert page.evaluate(f"LiteGraph.registered_node_types['{T2V}'].nodeData.api_node") is False
    assert row.locator("[class*='comfy--credits']").count() == 0

    node = add_from_search(comfy_page, row)
    badges = page.evaluate(BADGES, node)
    assert price.split(" for ")[0] in badges, badges   # the title bar's "≈ $0.84"
    colour = page.evaluate("id => app.graph.getNodeById(id).color ?? null", node)
    assert colour != page.evaluate("(window.LGraphCanvas ?? LiteGraph.LGraphCanvas).node_colors.yellow.color"), colour
    page.mouse.move(5, 500)   # away from the new node and from the tab bar's previews
    page.evaluate("id => { app.canvas.ds.scale = 1; app.canvas.centerOnNode(app.graph.getNodeById(id));"
                  " app.canvas.setDirty(true, true); }", node)
    comfy_page.settle()
    comfy_page.shot("added-from-search")


def test_node_search_follows_the_current_api_price(comfy_page):
    """Prices from the API arrive after the frontend has built its search index (the pricing
    route may ask the API first): the search's text is rebuilt with them."""
    page, server = comfy_page.page, comfy_page.server
    current = {"per_second_usd": 0.12, "per_second_with_sound_usd": 0.2, "source": "api",
               "as_of": "2026-12-01", "reference": "GET /v1/models"}
    page.route(f"**{PRICING_ROUTE}", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(current)))
    comfy_page.open()   # again, with the new price in place from the start
    price = default_price(server, current)
    assert price.startswith("\u2248 $1.00 ")
    row = search_row(comfy_page, price)
    assert "$0.84" not in row.inner_text()
    row.hover()
    comfy_page.shot("search-current-price")

    node = add_from_search(comfy_page, row)
    assert "\u2248 $1.00" in page.evaluate(BADGES, node)


def test_node_library_preview_shows_the_price(comfy_page):
    """The node library's hover card shows the same description (frontend 1.43's own price badge
    there is for Comfy API nodes only, in credits)."""
    page, server = comfy_page.page, comfy_page.server
    price = default_price(server, server.get(PRICING_ROUTE))
    page.get_by_role("button", name=re.compile("Node Library")).first.click()
    field = page.locator(".side-bar-panel input").first   # the library's search box
    field.wait_for()
    field.click()
    field.type(QUERY, delay=20)
    entry = page.get_by_text(display_name(), exact=True).first
    entry.wait_for()
    entry.hover()
    page.wait_for_function(
        "price => [...document.querySelectorAll('p')].some((p) => p.textContent.startsWith(price))", arg=price)
    comfy_page.shot("node-library-price")


def test_node_search_price_in_the_users_language(comfy_page):
    """Comfy.Locale = ko, ComfyUI opened again: the price text is in Korean from the start (the
    pack's translations are loaded in an `init` hook, before the definitions are registered)."""
    page, server = comfy_page.page, comfy_page.server
    pricing = server.get(PRICING_ROUTE)
    texts = locale("ko", "main.json")["kling3"]
    usd = default_price(server, pricing).split(" for ")[0]   # "≈ $0.84"
    seconds = server.get(f"/object_info/{T2V}")[T2V]["input"]["required"]["duration"][1]["default"]
    price = texts["search"]["priceSound"].format(seconds=seconds, price=usd)
    expected = texts["search"]["description"].format(price=price, description="").strip()
    page.evaluate("app.extensionManager.setting.set('Comfy.Locale', 'ko')")
    try:
        comfy_page.open()
        row = search_row(comfy_page, expected, lang="ko")
        row.hover()
        comfy_page.shot("search-price-ko")
    finally:
        page.keyboard.press("Escape")
        page.evaluate("app.extensionManager.setting.set('Comfy.Locale', 'en')")
