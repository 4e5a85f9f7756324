// ComfyUI frontend extension for the RunComfy Kling 3.0 nodes:
//  * a panel on "Kling 3.0 Pro Text to Video (RunComfy)": cost estimate, multi-shot timeline
//    with a warning when the shots do not add up to `duration`, live status of a run;
//  * the "RunComfy API token" settings entry (see kling3_settings.js);
//  * the price in US dollars on the title bar and in ComfyUI's node search (kling3_badges.js).
// The video preview after a run is ComfyUI's own: the node returns the same `ui` payload as
// SaveVideo ({images: [{filename, subfolder, type}], animated: [true]}); kling3_preview_fit.js
// shows, collapses or hides it (the "Video preview on the node" setting) and keeps it compact.

import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { request } from "./kling3_api.js";
import { DEFAULT_PRICING } from "./kling3_cost.js";
import { NODE_TYPES, readSegment, resolveExecutionId, upstreamNode, widgetValue } from "./kling3_graph.js";
import { EVENT } from "./kling3_status.js";
import { addPriceBadge, addShotBadge, searchPrice } from "./kling3_badges.js";
import { Kling3Panel } from "./kling3_panel.js";
import { installTemplateInfo } from "./kling3_templates.js";
import { attachPromptList } from "./kling3_prompt_list.js";
import { attachPreviewFit, DEFAULT_PREVIEW_MODE, PREVIEW_SETTING } from "./kling3_preview_fit.js";
import { SETTING_ID, tokenSettingElement } from "./kling3_settings.js";
import "./kling3_history.js";  // the "Spending" sidebar tab and the budget settings

const PRICING_ROUTE = "/runcomfy/kling3/pricing";
const ETA_ROUTE = "/runcomfy/kling3/eta";
const REFRESH_MS = 250;
const ETA_MAX_AGE_MS = 5 * 60 * 1000;
// ComfyUI's own status-text widget: our panel shows the same text with a running clock,
// so on nodes that have the panel the duplicate is removed.
const NATIVE_TEXT_PREVIEW = "$$node-text-preview";

const panels = new Set();
let pricing = DEFAULT_PRICING;
const etaCache = new Map();   // duration -> {value, at, pending}
// the price in the node search (the definitions' description): rebuilt when the prices change
const searchPrices = searchPrice(NODE_TYPES.textToVideo, () => pricing,
  (defs) => app.vueAppReady && app.updateVueAppNodeDefs?.(defs));

async function loadPricing() {
  try {
    const answer = await request(PRICING_ROUTE);
    if (answer && typeof answer.per_second_usd === "number") pricing = answer;
  } catch (error) {
    console.warn("[RunComfy Kling 3.0] prices unavailable, using the list prices:", error);
  }
  refreshAll();
  searchPrices.refresh();
}

/** Typical generating seconds for `duration` (undefined while being fetched). */
function typicalSeconds(duration) {
  const entry = etaCache.get(duration);
  const now = Date.now();
  if (!entry || (!entry.pending && now - entry.at > ETA_MAX_AGE_MS)) {
    etaCache.set(duration, { value: entry?.value, at: now, pending: true });
    request(`${ETA_ROUTE}?duration=${encodeURIComponent(duration)}`)
      .then((answer) => etaCache.set(duration, { value: answer?.eta_s ?? null, at: Date.now(), pending: false }))
      .catch(() => etaCache.set(duration, { value: null, at: Date.now(), pending: false }));
  }
  return entry?.value;
}

const services = { pricing: () => pricing, typicalSeconds };

/** The "Video preview on the node" setting (read on every layout: a change applies at once). */
function previewMode() {
  return app.extensionManager?.setting?.get?.(PREVIEW_SETTING) ?? DEFAULT_PREVIEW_MODE;
}

function refreshAll() {
  const now = Date.now();
  for (const panel of panels) {
    try {
      panel.refresh(now);
    } catch (error) {
      console.warn("[RunComfy Kling 3.0] panel update failed:", error);
    }
  }
}

function removeNativeTextPreview(node) {
  const index = node.widgets?.findIndex((w) => w.name === NATIVE_TEXT_PREVIEW) ?? -1;
  if (index < 0) return;
  node.widgets[index].onRemove?.();
  node.widgets.splice(index, 1);
  node.setDirtyCanvas?.(true, true);
}

function nodeForExecutionId(executionId) {
  const root = app.rootGraph ?? app.graph;
  return resolveExecutionId(root, executionId,
    (graph, id) => graph?.getNodeById?.(id) ?? graph?.getNodeById?.(Number(id)) ?? null,
    (node) => node.subgraph ?? null);
}

function panelFor(executionId) {
  const node = nodeForExecutionId(executionId);
  // The type check guards against another workflow tab being open (same id, other node).
  if (!node || (node.comfyClass ?? node.type) !== NODE_TYPES.textToVideo) return null;
  return node.runcomfyKling3Panel ?? null;
}

function onStatus(event) {
  const payload = event.detail;
  if (!payload || payload.node === null || payload.node === undefined) return;
  const panel = panelFor(payload.node);
  if (!panel) return;
  panel.setStatus(payload);
  if (payload.phase === "done") etaCache.clear();  // a new sample changes the typical time
  // The native text is sent right after this event: remove it once it has been added.
  setTimeout(() => removeNativeTextPreview(panel.node), 0);
}

/** A segment's place in its chain ({index from 1, duration}), or null when it is bypassed. */
function shotPosition(node) {
  const own = readSegment(node);
  if (!own || own.skip) return null;
  let index = 1;
  const seen = new Set([node]);
  for (let current = upstreamNode(node, "previous"); current && !seen.has(current) && seen.size < 64;
    current = upstreamNode(current, "previous")) {
    seen.add(current);
    const segment = readSegment(current);
    if (!segment) break;
    if (!segment.skip) index += 1;
  }
  const duration = widgetValue(node, "duration");
  return { index, duration: Number.isFinite(Number(duration)) && duration !== null ? Number(duration) : null };
}

function attachPanel(node) {
  if (node.runcomfyKling3Panel) return;
  const panel = new Kling3Panel(node, services);
  node.runcomfyKling3Panel = panel;
  panels.add(panel);
  const onRemoved = node.onRemoved;
  node.onRemoved = function (...args) {
    panels.delete(panel);
    return onRemoved?.apply(this, args);
  };
  panel.refresh();
}

app.registerExtension({
  name: "RunComfy.Kling3",

  settings: [
    {
      id: SETTING_ID,
      category: ["RunComfy", "Kling 3.0", "API token"],
      name: "RunComfy API token",
      tooltip: "Stored on the ComfyUI server (owner-only file in the user directory), never in "
        + "workflows. Used before RUNCOMFY_API_TOKEN and RUNCOMFY_TOKEN.",
      defaultValue: "",
      // A custom element: the setting's own value stays empty (see kling3_settings.js).
      type: () => tokenSettingElement(request, loadPricing),
    },

    {
      id: PREVIEW_SETTING,
      category: ["RunComfy", "Kling 3.0", "Node preview"],
      name: "Video preview on the text-to-video node",
      tooltip: "Auto: hidden while the video output feeds a node that shows it (Save Video), shown "
        + "otherwise. Always, Never, or Collapsed: a line in the node's panel shows it on a click.",
      type: "combo",
      options: [{ value: "auto", text: "Auto" }, { value: "always", text: "Always" },
        { value: "collapsed", text: "Collapsed" }, { value: "never", text: "Never" }],
      defaultValue: DEFAULT_PREVIEW_MODE,
      onChange: () => app.graph?.setDirtyCanvas?.(true, true),
    },
  ],

  async setup() {
    api.addEventListener(EVENT, onStatus);
    api.addEventListener("progress_text", (event) => {
      const panel = panelFor(event.detail?.nodeId);
      if (panel) setTimeout(() => removeNativeTextPreview(panel.node), 0);
      // a Prompt List's own line shows its count and estimate (kling3_prompt_list.js): no second text
      const list = nodeForExecutionId(event.detail?.nodeId);
      if (list?.runcomfyKling3List) setTimeout(() => removeNativeTextPreview(list), 0);
    });
    for (const name of ["execution_success", "execution_error", "execution_interrupted"]) {
      api.addEventListener(name, () => {
        for (const panel of panels) panel.freeze();
      });
    }
    setInterval(refreshAll, REFRESH_MS);
    loadPricing();
    installTemplateInfo();
  },

  addCustomNodeDefs(defs) {
    searchPrices.loaded(defs);
  },

  refreshComboInNodes(defs) {
    searchPrices.loaded(defs);
  },

  beforeRegisterVueAppNodeDefs(defs) {
    searchPrices.apply(defs);
  },

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_TYPES.textToVideo) return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (output) {
      // ComfyUI draws the video preview from `output`; here only the panel's clocks stop.
      const result = onExecuted?.apply(this, arguments);
      this.runcomfyKling3Panel?.freeze();
      return result;
    };
  },

  nodeCreated(node) {
    if ((node.comfyClass ?? node.type) === NODE_TYPES.promptList) {
      attachPromptList(node, services);   // the live count and estimate while the list is typed
      return;
    }
    if ((node.comfyClass ?? node.type) === NODE_TYPES.segment) {
      addShotBadge(node, () => shotPosition(node));
      return;
    }
    if ((node.comfyClass ?? node.type) !== NODE_TYPES.textToVideo) return;
    attachPanel(node);
    addPriceBadge(node, () => node.runcomfyKling3Panel?.model(Date.now()).cost ?? null);
    attachPreviewFit(node, previewMode, (error) => console.warn("[RunComfy Kling 3.0] preview fit failed:", error));
  },
});
