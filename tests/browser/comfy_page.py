"""Driving ComfyUI's real frontend (Playwright, sync API) for the pack's browser tests.

What the frontend offers, found in comfyui-frontend-package 1.43:
  * ``window.app``: the ComfyApp. ``app.graph`` is the open tab's graph (LiteGraph nodes with
    ``.widgets``; a widget's ``.y`` is its top relative to ``node.pos``), ``app.canvas`` the
    LGraphCanvas (``ds.scale``/``ds.offset``: screen = (graph + offset) * scale),
    ``app.extensionManager.command.execute(id)`` runs a command (``Comfy.Canvas.FitView``,
    ``Comfy.ExportWorkflow``, ...), ``app.graphToPrompt()`` builds what Run sends.
  * The sidebar's "Templates" and "Settings" buttons open dialogs (``role=dialog``). In the
    template browser a pack's example workflows are under EXTENSIONS, a nav entry named after
    the pack's folder in custom_nodes; each card is ``[data-testid=template-workflow-<file stem>]``
    and a click opens the workflow in a new tab.
  * The Run button is ``[data-testid=queue-button]``.
  * Number widgets are drawn on the canvas: a click within 40 px of the node's left/right edge
    steps the value, a click in the middle opens a prompt; a toggle flips on any click.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

T2V = "RunComfyKling3TextToVideo"
PANEL = ".rk3-panel"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

_WIDGET_POINT = """([nodeId, name, where]) => {
  const canvas = app.canvas, node = app.graph.getNodeById(nodeId);
  const widget = node.widgets.find((w) => w.name === name);
  const height = widget.computedHeight || widget.height || LiteGraph.NODE_WIDGET_HEIGHT || 20;
  const width = widget.width || node.size[0];
  const x = node.pos[0] + (where === "right" ? width - 20 : where === "left" ? 20 : width / 2);
  const y = node.pos[1] + widget.y + height / 2;
  const rect = canvas.canvas.getBoundingClientRect(), scale = canvas.ds.scale;
  // bring that point to the middle of the canvas, clear of the floating toolbars
  canvas.ds.offset[0] = rect.width / 2 / scale - x;
  canvas.ds.offset[1] = rect.height / 2 / scale - y;
  canvas.setDirty(true, true);
  return {x: rect.left + rect.width / 2, y: rect.top + rect.height / 2};
}"""

_SETTLE = """async () => {
  const ds = app.canvas.ds, started = performance.now();
  let last = "", still = 0;
  while (still < 8 && performance.now() - started < 5000) {
    await new Promise((done) => requestAnimationFrame(done));
    const now = JSON.stringify([ds.scale, ...ds.offset]);
    still = now === last ? still + 1 : 0;
    last = now;
  }
}"""

_STORAGE_DUMP = """async () => {
  const dump = {local: {}, session: {}, indexedDB: [], cookies: document.cookie};
  for (const [area, storage] of [["local", localStorage], ["session", sessionStorage]]) {
    for (let i = 0; i < storage.length; i++) dump[area][storage.key(i)] = storage.getItem(storage.key(i));
  }
  const open = (name) => new Promise((ok, fail) => {
    const request = indexedDB.open(name); request.onsuccess = () => ok(request.result);
    request.onerror = () => fail(request.error);
    request.onblocked = () => fail(new Error(`IndexedDB ${name} is blocked`));
    setTimeout(() => fail(new Error(`IndexedDB ${name} did not open`)), 10000);
  });
  for (const {name} of (await indexedDB.databases())) {
    const db = await open(name);
    for (const store of db.objectStoreNames) {
      const values = await new Promise((ok, fail) => {
        const request = db.transaction(store, "readonly").objectStore(store).getAll();
        request.onsuccess = () => ok(request.result); request.onerror = () => fail(request.error);
      });
      dump.indexedDB.push({db: name, store, values: values.map((v) => {
        try { return JSON.stringify(v); } catch { return String(v); } })});
    }
    db.close();
  }
  return dump;
}"""


def only_local(route) -> None:
    """Answer requests to this machine only: the frontend's calls to outside hosts fail at once."""
    host = urlsplit(route.request.url).hostname
    if host in LOCAL_HOSTS:
        route.continue_()
    else:
        route.abort("blockedbyclient")


class ComfyPage:
    """One browser tab on the ComfyUI server, plus the screenshots of the running test."""

    def __init__(self, page, server, shots, settings: dict):
        self.page, self.server, self.shot, self.settings = page, server, shots, settings
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    # --- loading ------------------------------------------------------------------------------
    def open(self) -> "ComfyPage":
        self.page.goto(self.server.base_url)
        self.page.wait_for_function("window.app?.graph && window.app.extensionManager?.command"
                                    " && window.LiteGraph", timeout=120_000)
        self.page.get_by_test_id("queue-button").wait_for()
        wrong = self.page.evaluate("""async (wanted) => {
          const settings = app.extensionManager.setting;
          for (const [id, value] of Object.entries(wanted)) {
            if (settings.get(id) !== value) await settings.set(id, value);
          }
          return Object.keys(wanted).filter((id) => settings.get(id) !== wanted[id]);
        }""", self.settings)
        assert not wrong, f"frontend settings not applied: {wrong}"
        return self

    def template_dialog(self):
        """The template browser opened from the sidebar, showing this pack's examples."""
        self.page.get_by_role("button", name="Templates").first.click()
        dialog = self.page.get_by_role("dialog").first
        dialog.get_by_role("button", name=self.server.pack_folder).click()
        dialog.get_by_test_id("template-workflows-content").wait_for()
        return dialog

    def listed_templates(self, dialog) -> list[str]:
        return dialog.locator("[data-testid^=template-workflow-]:not([data-testid$=-content])").evaluate_all(
            "cards => cards.map((card) => card.dataset.testid.replace('template-workflow-', ''))")

    def load_template(self, name: str, shot_name: str | None = None) -> None:
        """Open the example workflow ``name`` through the template browser, as a user would."""
        dialog = self.template_dialog()
        card = dialog.get_by_test_id(f"template-workflow-{name}")
        card.wait_for()
        if shot_name:
            self.shot(shot_name)
        card.click()
        dialog.wait_for(state="detached")
        expected = len(json.loads((self.server.examples_dir / f"{name}.json").read_text(encoding="utf-8"))["nodes"])
        self.page.wait_for_function("n => app.graph.nodes.length === n", arg=expected)
        self.fit_view()

    def fit_view(self) -> None:
        """Zoom to the whole graph (nothing selected), once the animation has ended."""
        self.page.evaluate("app.canvas.deselectAll?.()")
        self.page.mouse.move(5, 5)  # no tooltip of the last clicked widget in the screenshots
        self.command("Comfy.Canvas.FitView")
        self.settle()

    def settle(self) -> None:
        """Wait until the canvas view stops moving (FitView animates for about 350 ms: a click
        computed before it ends lands elsewhere)."""
        self.page.evaluate(_SETTLE)

    def command(self, command_id: str, wait: bool = True):
        """Run a frontend command; ``wait=False`` returns at once (one that opens a dialog or
        starts a download may only finish after the test acts)."""
        if wait:
            return self.page.evaluate("id => app.extensionManager.command.execute(id)", command_id)
        return self.page.evaluate("id => { void app.extensionManager.command.execute(id); }", command_id)

    # --- reading the graph --------------------------------------------------------------------
    def node_id(self, node_type: str, index: int = 0) -> int:
        ids = self.page.evaluate("t => app.graph.nodes.filter((n) => n.type === t).map((n) => n.id)"
                                 ".sort((a, b) => a - b)", node_type)
        return ids[index]

    def widget_value(self, node_id: int, name: str):
        return self.page.evaluate("([id, name]) => app.graph.getNodeById(id).widgets"
                                  ".find((w) => w.name === name).value", [node_id, name])

    def panel_text(self, node_id: int) -> str:
        return self.panel(node_id).inner_text()

    def panel(self, node_id: int):
        """The pack's panel (a DOM widget) on one text-to-video node."""
        handle = self.page.evaluate_handle("id => app.graph.getNodeById(id).runcomfyKling3Panel.inner", node_id)
        return handle.as_element()

    def wait_panel(self, node_id: int, predicate: str, timeout: float = 30_000):
        """Wait until ``predicate`` (a JS expression over ``el``, the panel element) holds."""
        return self.page.wait_for_function(
            f"id => {{ const el = app.graph.getNodeById(id)?.runcomfyKling3Panel?.inner; return !!el && ({predicate}); }}",
            arg=node_id, timeout=timeout, polling="raf")

    # --- using the canvas ---------------------------------------------------------------------
    def click_widget(self, node_id: int, name: str, where: str = "middle") -> None:
        """A real mouse click on a canvas-drawn widget: ``where`` is left/right (number arrows)
        or middle (toggles, combos)."""
        self.settle()
        point = self.page.evaluate(_WIDGET_POINT, [node_id, name, where])
        self.settle()
        self.page.mouse.click(point["x"], point["y"])

    def center_widget(self, node_id: int, name: str) -> None:
        """Scroll the canvas so the middle of a widget (canvas-drawn or DOM) is in view."""
        self.settle()
        self.page.evaluate(_WIDGET_POINT, [node_id, name, "middle"])
        self.settle()

    def step_widget(self, node_id: int, name: str, steps: int) -> None:
        """Change a number widget by ``steps`` clicks on its arrows, waiting for each to land."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        changed = ("([id, name, before]) => app.graph.getNodeById(id).widgets"
                   ".find((w) => w.name === name).value !== before")
        for _ in range(abs(steps)):
            before = self.widget_value(node_id, name)
            self.click_widget(node_id, name, "right" if steps > 0 else "left")
            try:
                self.page.wait_for_function(changed, arg=[node_id, name, before], timeout=5000)
            except PlaywrightTimeoutError:
                # the canvas moved between finding the arrow and clicking it (a node still
                # laying itself out): the click went elsewhere, so find the arrow and click again
                self.click_widget(node_id, name, "right" if steps > 0 else "left")
                self.page.wait_for_function(changed, arg=[node_id, name, before])

    # --- running --------------------------------------------------------------------------------
    def run(self, timeout: float = 180) -> dict:
        """Press Run and wait for the queued prompt to finish; its /history entry."""
        prompt_id = self.press_run()
        return self.server.wait(prompt_id, timeout=timeout)

    def press_run(self, timeout: float = 60) -> str:
        """Press Run; the new prompt's id once the server has it."""
        before = self._prompt_ids()
        self.page.get_by_test_id("queue-button").click()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self._prompt_ids() - before
            if new:
                return new.pop()
            self.page.wait_for_timeout(100)
        raise AssertionError("pressing Run queued nothing; page errors: " + "; ".join(self.errors))

    def _prompt_ids(self) -> set[str]:
        queue = self.server.get("/queue")
        ids = {item[1] for item in queue.get("queue_running", []) + queue.get("queue_pending", [])}
        return ids | set(self.server.get("/history"))

    def video_element(self, node_id: int):
        """The <video> of the node's preview widget (ComfyUI's own), once there is one."""
        self.page.wait_for_function(
            "id => app.graph.getNodeById(id).widgets?.find((w) => w.name === 'video-preview')"
            "?.element?.querySelector('video')", arg=node_id, timeout=30_000)
        return self.page.evaluate_handle(
            "id => app.graph.getNodeById(id).widgets.find((w) => w.name === 'video-preview')"
            ".element.querySelector('video')", node_id).as_element()

    # --- what the page keeps ----------------------------------------------------------------
    def storage(self) -> dict:
        return self.page.evaluate(_STORAGE_DUMP)

    def download(self, command_id: str, folder: Path) -> str:
        """Run an export command and return the downloaded file's text (also kept in ``folder``)."""
        with self.page.expect_download() as info:
            self.command(command_id, wait=False)
        target = folder / info.value.suggested_filename
        info.value.save_as(target)
        return target.read_text(encoding="utf-8")
