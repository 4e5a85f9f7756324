// The panel on the text-to-video node: cost estimate (and what the last run was charged),
// multi-shot timeline, live status.
// One DOM widget (not serialised: nothing of it enters the workflow or the prompt), redrawn
// only when what it shows changes. Works in the canvas and in the Vue node renderer. What it shows
// is worked out by kling3_cost.js, kling3_timeline.js and kling3_status.js from the graph as
// kling3_graph.js reads it; this module draws it and sizes the node.

import { chargedOf, chargedText, costEstimate } from "./kling3_cost.js";
import { collectSegments, readSegment, upstreamNode, widgetValue } from "./kling3_graph.js";
import { t } from "./kling3_i18n.js";
import { liveStatus, typicalTimeText } from "./kling3_status.js";
import { buildTimeline } from "./kling3_timeline.js";
import { addStyleOnce, el } from "./kling3_dom.js";

export const PANEL_WIDGET = "runcomfy_kling3_panel";
const SETTLE_MS = 1000;
const BLOCK_COLORS = ["#4f7cff", "#2fb38a", "#d08a2c", "#b05bd6", "#d04f6a", "#3aa6c9"];

const STYLE = `
.rk3-panel { font: 12px/1.4 Inter, Arial, sans-serif; color: var(--fg-color, #ddd); padding: 2px 4px 4px;
  box-sizing: border-box; display: flex; flex-direction: column; gap: 4px; overflow: hidden; }
.rk3-muted { color: var(--descrip-text, #999); }
.rk3-row { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.rk3-bar { position: relative; height: 18px; border-radius: 3px; overflow: hidden;
  background: var(--comfy-input-bg, #222); border: 1px solid var(--border-color, #444); }
.rk3-block { position: absolute; top: 0; bottom: 0; color: #fff; font-size: 11px; line-height: 18px;
  text-align: center; white-space: nowrap; overflow: hidden; text-overflow: clip;
  border-right: 1px solid rgba(0,0,0,.45); box-sizing: border-box; }
.rk3-block.rk3-over { background-image: repeating-linear-gradient(45deg, rgba(255,60,60,.55) 0 4px, transparent 4px 8px); }
.rk3-gap { position: absolute; top: 0; bottom: 0; border: 1px dashed #e0a030; box-sizing: border-box; }
.rk3-marker { position: absolute; top: -2px; bottom: -2px; width: 2px; background: #fff; opacity: .9; }
.rk3-warn { color: #f0b040; white-space: normal; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; overflow: hidden; }
.rk3-dot { width: 8px; height: 8px; border-radius: 50%; flex: none; background: #888; }
.rk3-dot.rk3-run { background: #4f9cff; animation: rk3-pulse 1.2s ease-in-out infinite; }
.rk3-dot.rk3-done { background: #2fb38a; } .rk3-dot.rk3-failed { background: #e0564f; }
.rk3-status { display: flex; align-items: flex-start; gap: 6px; } .rk3-status .rk3-dot { margin-top: 4px; }
.rk3-status-text { flex: 1; white-space: normal; overflow-wrap: anywhere; user-select: text; }
.rk3-progress { height: 3px; border-radius: 2px; background: var(--border-color, #444); overflow: hidden; }
.rk3-progress > div { height: 100%; background: #4f9cff; transition: width .25s linear; }
@keyframes rk3-pulse { 50% { opacity: .35; } }
.rk3-preview-toggle { align-self: flex-start; font: inherit; color: var(--descrip-text, #999); background: none;
  border: none; padding: 0; cursor: pointer; } .rk3-preview-toggle:hover { color: var(--fg-color, #ddd); }
`;

function addStyle() {
  addStyleOnce("panel", STYLE);
}


// --- the panel -----------------------------------------------------------------------------

export class Kling3Panel {
  /** services: {pricing(): object, typicalSeconds(duration): number|null|undefined} */
  constructor(node, services) {
    addStyle();
    this.node = node;
    this.services = services;
    this.status = null;        // {payload, receivedAt, frozen}
    this.charged = null;       // what the last run was charged: chargedOf()
    this.renderedKey = "";
    this.height = 24;
    this.element = el("div");
    this.inner = el("div", "rk3-panel");  // its natural height is what the widget needs
    this.element.append(this.inner);
    this.widget = node.addDOMWidget(PANEL_WIDGET, "runcomfy_kling3_panel", this.element, {
      serialize: false, hideOnZoom: false,
      getValue: () => undefined, setValue: () => {},
      getMinHeight: () => this.height, getMaxHeight: () => this.height,
    });
    this.widget.serialize = false;
    // While a workflow loads, the panel's first layouts fit into the node's saved size; after
    // that, every change of the panel's height moves only the node's bottom edge.
    this.settledAt = Date.now() + SETTLE_MS;
    const onConfigure = node.onConfigure;
    const panel = this;
    node.onConfigure = function (...args) {
      panel.settledAt = Date.now() + SETTLE_MS;
      return onConfigure?.apply(this, args);
    };
  }

  setStatus(payload) {
    this.status = { payload, receivedAt: Date.now(), frozen: false };
    this.charged = chargedOf(payload);
    this.refresh();
  }

  /** Stop the clocks (the prompt ended without a final event for this node). */
  freeze() {
    if (this.status && !this.status.frozen) {
      this.status.frozen = true;
      this.refresh();
    }
  }

  model(now) {
    const node = this.node;
    const duration = widgetValue(node, "duration");
    const sound = widgetValue(node, "sound");
    const cost = costEstimate(duration, sound, this.services.pricing());
    const typical = Number.isFinite(duration) ? typicalTimeText(this.services.typicalSeconds(duration)) : "";
    const chain = collectSegments(node, "multi_prompt", upstreamNode, readSegment);
    const timeline = chain.linked ? buildTimeline(chain.segments, Number.isFinite(duration) ? duration : null) : null;
    let status = null;
    if (this.status) {
      const live = liveStatus(this.status.payload, this.status.receivedAt, now, { frozen: this.status.frozen });
      status = { phase: live.phase, text: live.text, fraction: live.fraction };
    }
    // a collapsed video preview (RunComfy.Kling3.NodePreview): the toggle that shows it
    const preview = node.runcomfyKling3Preview;
    const toggle = preview?.available && preview.mode === "collapsed" ? { expanded: Boolean(preview.expanded) } : null;
    return { cost, charged: chargedText(this.charged), typical, timeline, complete: chain.complete, status, toggle };
  }

  refresh(now = Date.now()) {
    const model = this.model(now);
    const key = JSON.stringify(model);
    if (key === this.renderedKey) return;
    this.renderedKey = key;
    this.render(model);
  }

  render({ cost, charged, typical, timeline, complete, status, toggle }) {
    const parts = [];
    const costRow = el("div", "rk3-row");
    if (cost) {
      costRow.append(el("span", "", cost.text));
      costRow.title = t("kling3.panel.costTitle", "{text} ({detail}). An estimate: RunComfy bills the actual run.",
        { text: cost.text, detail: cost.detail });
    } else {
      costRow.append(el("span", "rk3-muted", t("kling3.panel.costUnknown",
        "Cost estimate: set duration and sound on this node")));
    }
    // the charge next to the estimate; on a row of its own after the long "set duration" hint
    const chargedRow = cost ? costRow : charged && el("div", "rk3-row");
    if (charged) {
      if (cost) chargedRow.append(el("span", "rk3-muted", " \u00b7 "));
      chargedRow.append(Object.assign(el("span", "rk3-charged", charged.text), { title: charged.title }));
    }
    if (typical) costRow.append(el("span", "rk3-muted", ` \u00b7 ${typical}`));
    parts.push(costRow);
    if (charged && !cost) parts.push(chargedRow);
    if (cost) parts.push(Object.assign(el("div", "rk3-row rk3-muted", cost.detail), { title: costRow.title }));
    if (timeline) parts.push(...this.renderTimeline(timeline, complete));
    if (status) parts.push(...this.renderStatus(status));
    if (toggle) parts.push(this.renderToggle(toggle.expanded));
    this.inner.replaceChildren(...parts);
    this.resize(parts.length);
  }

  renderTimeline(timeline, complete) {
    const rows = [];
    const bar = el("div", "rk3-bar");
    timeline.blocks.forEach((block, i) => {
      const div = el("div", `rk3-block${block.overflow ? " rk3-over" : ""}`,
        block.widthFraction > 0.08 ? `${block.index} \u00b7 ${block.duration ?? "?"}s` : `${block.index}`);
      div.style.left = `${block.startFraction * 100}%`;
      div.style.width = `${block.widthFraction * 100}%`;
      div.style.backgroundColor = BLOCK_COLORS[i % BLOCK_COLORS.length];
      div.title = t("kling3.panel.shotTitle", "Shot {index} ({seconds} s): {prompt}", {
        index: block.index, seconds: block.duration ?? "?",
        prompt: block.prompt ?? t("kling3.panel.promptFromLink", "(prompt from a link)"),
      });
      bar.append(div);
    });
    if (timeline.status === "mismatch" && timeline.total < timeline.target) {
      const gap = el("div", "rk3-gap");
      gap.style.left = `${(timeline.total / timeline.scale) * 100}%`;
      gap.style.width = `${((timeline.target - timeline.total) / timeline.scale) * 100}%`;
      gap.title = t("kling3.panel.gap", "{seconds} s not covered by any shot",
        { seconds: timeline.target - timeline.total });
      bar.append(gap);
    }
    if (timeline.targetFraction !== null && timeline.targetFraction < 1) {
      const marker = el("div", "rk3-marker");
      marker.style.left = `calc(${timeline.targetFraction * 100}% - 1px)`;
      marker.title = t("kling3.panel.durationMarker", "duration = {seconds} s", { seconds: timeline.target });
      bar.append(marker);
    }
    rows.push(bar);
    const count = timeline.blocks.length;
    const values = { count, total: timeline.total, target: timeline.target ?? "?" };
    let caption = count === 1
      ? t("kling3.panel.captionOne", "Multi-shot: {count} shot, {total} s of {target} s", values)
      : t("kling3.panel.caption", "Multi-shot: {count} shots, {total} s of {target} s", values);
    if (timeline.status === "ok") caption += " \u2713";
    if (!complete) caption += " \u00b7 " + t("kling3.panel.partial", "part of the chain cannot be read here");
    rows.push(el("div", "rk3-row rk3-muted", caption));
    const warnings = [timeline.warning, ...timeline.problems].filter(Boolean);
    if (warnings.length) {
      const warn = el("div", "rk3-warn", `\u26a0 ${warnings.join("; ")}`);
      warn.title = warnings.join("\n");
      rows.push(warn);
    }
    return rows;
  }

  renderToggle(expanded) {
    const button = el("button", "rk3-preview-toggle", expanded
      ? t("kling3.preview.hide", "\u25be Hide the video preview")
      : t("kling3.preview.show", "\u25b8 Show the video preview"));
    button.type = "button";
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      this.node.runcomfyKling3Preview?.toggle?.();
      this.refresh();
    });
    return button;
  }

  renderStatus(status) {
    const row = el("div", "rk3-status");
    const dotClass = status.phase === "done" ? "rk3-done" : status.phase === "failed" ? "rk3-failed"
      : ["cancelled", "interrupted"].includes(status.phase) ? "" : "rk3-run";
    const text = el("div", "rk3-status-text", status.text);
    text.title = status.text;
    row.append(el("span", `rk3-dot ${dotClass}`), text);
    const rows = [row];
    if (status.fraction !== null && status.phase !== "done") {
      const progress = el("div", "rk3-progress");
      const fill = el("div");
      fill.style.width = `${Math.round(status.fraction * 100)}%`;
      progress.append(fill);
      rows.push(progress);
    }
    return rows;
  }

  /**
   * Give the widget the height of its content. The node grows or shrinks by the same amount,
   * below the widgets: ComfyUI would otherwise take the room from (or give it to) the prompt
   * boxes, and every widget between them and the panel would move under the user's cursor.
   */
  resize(rowCount) {
    let height = this.inner.isConnected ? this.inner.offsetHeight : 0;
    if (!height) height = 8 + rowCount * 20;
    height = Math.max(24, Math.ceil(height) + 6);  // slack for the widget's own margins
    if (Math.abs(height - this.height) < 2) return;
    const delta = height - this.height;
    this.height = height;
    const node = this.node;
    if (node.size) {
      const needed = node.computeSize?.();
      const settled = Date.now() >= this.settledAt;
      const wanted = Math.max(settled ? node.size[1] + delta : node.size[1], needed ? needed[1] : 0);
      if (wanted !== node.size[1]) node.setSize?.([node.size[0], wanted]);
    }
    node.setDirtyCanvas?.(true, true);
  }
}
