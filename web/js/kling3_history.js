// The "Spending" sidebar tab: every paid Kling 3.0 job of the pack's ledger, newest first, with
// today's and this month's spend against the budgets; and the budget entries of the settings
// dialog (kling3_budget_settings.js).
//
// The list always comes from the server (GET /runcomfy/kling3/history, read from its state
// database), never from anything kept in the page: it is the same in every ComfyUI tab and
// after a restart. It is loaded when the tab is shown, when a job of this tab changes phase
// (the pack's status event), when ComfyUI's queue changes (its "status" event, sent to every
// tab), when the window gets the focus, and every few seconds while a job is generating.
//
// Registered with app.extensionManager.registerSidebarTab (frontend 1.x, type "custom": the
// frontend calls render(element) each time the tab is shown and destroy() when it is hidden).

import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { request } from "./kling3_api.js";
import { budgetSettings } from "./kling3_budget_settings.js";
import { followLanguage, isRequestId, mergeOlder, nextBefore, STATES, TEXT } from "./kling3_history_logic.js";
import { createHistoryView } from "./kling3_history_view.js";
import { t } from "./kling3_i18n.js";

// Every user-visible string of this file: getters through t(), read when the text is shown.
export const TAB_TEXT = Object.freeze({
  get title() { return t("kling3.spending.title", "Spending"); },
  get tooltip() { return t("kling3.spending.tooltip", "RunComfy Kling 3.0: paid jobs, spend and budgets"); },
  get copied() { return t("kling3.spending.copied", "Request id copied"); },
  get copyFailed() { return t("kling3.spending.copyFailed", "Could not copy: select the id and copy it by hand"); },
  get nodeAdded() { return t("kling3.spending.nodeAdded", "Fetch Result node added"); },
  get nodeMissing() {
    return t("kling3.spending.nodeMissing", "The Fetch Result node is not installed on this ComfyUI server");
  },
  get resolvedFound() {
    return t("kling3.spending.resolvedFound", "Resolved: the next run with these inputs re-attaches to that request");
  },
  get resolvedNever() { return t("kling3.spending.resolvedNever", "Resolved: marked as never created"); },
  unreachable: (message) => t("kling3.spending.unreachable", "The history did not load: {message}", { message }),
});

export const TAB_ID = "runcomfy-kling3-history";
export const HISTORY_ROUTE = "/runcomfy/kling3/history";
const RESOLVE_ROUTE = "/runcomfy/kling3/history/resolve";
const VIDEO_ROUTE = "/runcomfy/kling3/video";
const STATUS_EVENT = "runcomfy.kling3.status";
const FETCH_NODE = "RunComfyKling3FetchResult";
const PAGE = 50;
const DEBOUNCE_MS = 300;
const GENERATING_POLL_MS = 5000;
// status phases after which the ledger has changed: a job was submitted, or it ended
const CHANGING_PHASES = new Set(["queued", "generating", "done", "failed", "cancelled", "interrupted"]);

let shown = null;        // {view, lines, hasMore} while the tab is on screen
let timer = null;
let poller = null;
let loading = null;
let again = false;       // something changed while a load was under way: load once more after it

function toast(severity, summary, detail) {
  try {
    app.extensionManager?.toast?.add({ severity, summary, detail, life: 3000 });
  } catch {
    // a frontend without toasts: the panel itself shows the outcome
  }
}

/** Load the newest lines again (as many as are shown, so "Load older" pages stay open). */
async function refresh() {
  if (!shown) return;
  if (loading) {
    again = true;
    return loading;
  }
  const panel = shown;
  const limit = Math.max(PAGE, panel.lines.length);
  loading = (async () => {
    try {
      const answer = await request(`${HISTORY_ROUTE}?limit=${limit}`);
      if (shown !== panel) return;
      panel.answer = answer;
      panel.lines = answer.lines ?? [];
      panel.hasMore = nextBefore(panel.lines, limit) !== null;
      panel.view.show(answer, panel.lines, panel.hasMore);
      schedulePoll(panel);
    } catch (failure) {
      if (shown === panel) panel.view.showError(TAB_TEXT.unreachable(failure?.message || failure));
    } finally {
      loading = null;
      if (again) {
        again = false;
        refreshSoon();
      }
    }
  })();
  return loading;
}

function refreshSoon() {
  if (!shown) return;
  clearTimeout(timer);
  timer = setTimeout(refresh, DEBOUNCE_MS);
}

/** While a job is generating its line changes on the server: look again every few seconds. */
function schedulePoll(panel) {
  clearTimeout(poller);
  poller = null;
  if (panel.lines.some((line) => line.state === STATES.generating || line.state === STATES.unknown)) {
    poller = setTimeout(refresh, GENERATING_POLL_MS);
  }
}

async function loadOlder() {
  const panel = shown;
  const before = panel && nextBefore(panel.lines, panel.lines.length);
  if (!before) return;
  try {
    const answer = await request(`${HISTORY_ROUTE}?limit=${PAGE}&before=${before}`);
    if (shown !== panel) return;
    panel.lines = mergeOlder(panel.lines, answer.lines ?? []);
    panel.hasMore = nextBefore(answer.lines ?? [], PAGE) !== null;
    panel.view.show(answer, panel.lines, panel.hasMore);
  } catch (failure) {
    panel.view.showError(TAB_TEXT.unreachable(failure?.message || failure));
  }
}

async function copy(line) {
  const text = line.request_id;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (a page not served from localhost or https, or permission refused):
    // the old way, through a selected text field.
    const field = Object.assign(document.createElement("textarea"), { value: text, readOnly: true });
    field.style.cssText = "position:fixed;opacity:0;left:0;top:0";
    document.body.append(field);
    field.select();
    const ok = document.execCommand?.("copy");
    field.remove();
    if (!ok) {
      toast("warn", TAB_TEXT.copyFailed, text);
      return;
    }
  }
  toast("success", TAB_TEXT.copied, text);
}

/** A Fetch Result node holding the line's request id, in the middle of the visible canvas. */
function addNode(line) {
  const LiteGraph = globalThis.LiteGraph;
  const canvas = app.canvas;
  const graph = canvas?.graph ?? app.graph;
  const node = LiteGraph?.createNode?.(FETCH_NODE);
  if (!node || !graph) {
    toast("error", TAB_TEXT.nodeMissing, FETCH_NODE);
    return;
  }
  const widget = node.widgets?.find((w) => w.name === "request_id");
  if (widget) {
    widget.value = line.request_id;
    widget.callback?.(line.request_id, canvas, node);
  }
  const area = canvas?.visible_area;
  if (area && area.length >= 4) {
    node.pos = [area[0] + area[2] / 2 - node.size[0] / 2, area[1] + area[3] / 2 - node.size[1] / 2];
  } else if (canvas?.ds && canvas.canvas) {
    const { scale, offset } = canvas.ds;
    node.pos = [canvas.canvas.clientWidth / 2 / scale - offset[0] - node.size[0] / 2,
      canvas.canvas.clientHeight / 2 / scale - offset[1] - node.size[1] / 2];
  }
  graph.add(node);
  canvas?.selectNode?.(node);
  graph.setDirtyCanvas?.(true, true);
  toast("success", TAB_TEXT.nodeAdded, line.request_id);
}

function videoUrl(line) {
  return api.apiURL(`${VIDEO_ROUTE}?request_id=${encodeURIComponent(line.request_id)}`);
}

async function resolve(line, requestId) {
  if (requestId !== null && !isRequestId(requestId)) throw new Error(TEXT.badRequestId);
  await request(RESOLVE_ROUTE, { method: "POST", body: { id: line.id, request_id: requestId } });
  toast("success", requestId ? TAB_TEXT.resolvedFound : TAB_TEXT.resolvedNever, requestId ?? "");
  await refresh();
}

const handlers = { refresh, loadOlder, copy, addNode, videoUrl, resolve };

function render(element) {
  // The frontend may call render again on the same element: keep what is open in it then.
  if (shown?.element !== element) {
    shown = { element, view: createHistoryView(element, handlers), lines: [], hasMore: false };
  }
  refresh();
}

function destroy() {
  shown = null;
  clearTimeout(timer);
  clearTimeout(poller);
}

/** The language changed: the open tab drawn again in it (the view draws its texts once). */
function redraw() {
  if (!shown) return;
  shown.view = createHistoryView(shown.element, handlers);
  if (shown.answer) shown.view.show(shown.answer, shown.lines, shown.hasMore);
}

function registerTab() {
  const manager = app.extensionManager;
  if (typeof manager?.registerSidebarTab !== "function") {
    console.warn("[RunComfy Kling 3.0] this ComfyUI frontend has no sidebar tabs: the spending history is "
      + `at ${HISTORY_ROUTE}; budgets are in the settings`);
    return;
  }
  // The texts are read here, after the translations have loaded (kling3_i18n.js waits for them in
  // `init`, which ComfyUI awaits before `setup`), and written again when the language changes: the
  // frontend shows the strings it was given (see retitleTab in kling3_history_logic.js).
  const tab = {
    id: TAB_ID, icon: "pi pi-wallet", title: TAB_TEXT.title, tooltip: TAB_TEXT.tooltip, type: "custom",
    render, destroy,
  };
  manager.registerSidebarTab(tab);
  followLanguage(manager, tab, () => ({ title: TAB_TEXT.title, tooltip: TAB_TEXT.tooltip }), redraw);
}

app.registerExtension({
  name: "RunComfy.Kling3.History",
  settings: budgetSettings(request, refreshSoon),

  async setup() {
    registerTab();
    api.addEventListener(STATUS_EVENT, (event) => {
      if (CHANGING_PHASES.has(event.detail?.phase)) refreshSoon();
    });
    // ComfyUI's queue status goes to every tab: a job queued or finished in another tab.
    api.addEventListener("status", refreshSoon);
    window.addEventListener("focus", refreshSoon);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") refreshSoon();
    });
  },
});
