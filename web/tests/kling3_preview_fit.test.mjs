// The video preview on the text-to-video node (shown, collapsed or off; compact), against a
// litegraph-shaped node whose
// arrange() lays widgets out the way ComfyUI's frontend (1.43) does: fixed widgets take their
// height, the growable ones (DOM widgets: prompt boxes, the panel, the preview) share what is
// left (each at least its minimum, the rest in equal parts up to each one's maximum), and the
// node grows only when the minimums do not fit.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  attachPreviewFit, feedsPreviewingNode, GROWN_PROPERTY, MAX_PREVIEW_HEIGHT_PX, previewHeight, previewShown,
  VIDEO_PREVIEW_WIDGET,
} from "../js/kling3_preview_fit.js";

const SLOTS_HEIGHT = 146;        // title-less body above the first widget (7 output slots)
const FIXED_WIDGET_HEIGHT = 20;  // number/combo/toggle widgets, plus 4 px spacing each
const FIXED_WIDGETS = 11;

function share(free, items) {
  const heights = items.map((i) => i.min);
  let left = free - heights.reduce((a, b) => a + b, 0);
  if (left <= 0) return heights;
  while (left > 1e-9) {
    const open = items.map((_, k) => k).filter((k) => heights[k] < (items[k].max ?? Infinity));
    if (!open.length) break;
    const part = left / open.length;
    let used = 0;
    for (const k of open) {
      const add = Math.min(part, (items[k].max ?? Infinity) - heights[k]);
      heights[k] += add;
      used += add;
    }
    left -= used;
    if (used <= 0) break;
  }
  return heights;
}

/** The frontend's widget layout, as far as the fit depends on it. */
function layOut(node) {
  const widgets = node.widgets.filter((w) => !w.hidden);
  let fixed = 0;
  const growable = [];
  for (const w of widgets) {
    if (w.computeLayoutSize) {
      const { minHeight, maxHeight } = w.computeLayoutSize(node);
      growable.push({ w, min: minHeight, max: maxHeight });
    } else {
      w.computedHeight = FIXED_WIDGET_HEIGHT + 4;
      fixed += w.computedHeight;
    }
  }
  const heights = share(Math.max(0, node.size[1] - SLOTS_HEIGHT - fixed), growable);
  growable.forEach((g, k) => { g.w.computedHeight = heights[k]; });
  let y = SLOTS_HEIGHT;
  for (const w of widgets) {
    w.y = y;
    y += w.computedHeight;
  }
  if (y > node.size[1]) node.setSize([node.size[0], y]);
}

function domWidget(name, min, max) {
  return { name, computeLayoutSize: () => ({ minHeight: min, maxHeight: max, minWidth: 0 }) };
}

function makeNode({ id = 1, width = 420, height = 760 } = {}) {
  const node = {
    id, size: [width, height], flags: {}, redraws: [], properties: {}, outputs: [{ name: "video", type: "VIDEO", links: [] }],
    widgets: [domWidget("prompt", 50), domWidget("negative_prompt", 50),
      ...Array.from({ length: FIXED_WIDGETS }, (_, k) => ({ name: `w${k}` })),
      domWidget("runcomfy_kling3_panel", 68, 68)],
    setSize(size) { this.size = [size[0], size[1]]; this.onResize?.(this.size); },
    setDirtyCanvas(foreground, background) { this.redraws.push([foreground, background]); },
    arrange() { if (!this.flags.collapsed) layOut(this); },   // drawNode skips collapsed nodes
  };
  return node;
}

/** ComfyUI's preview: sized from the video and the node's width when it loads. */
function showVideo(node, videoWidth, videoHeight) {
  const video = { videoWidth, videoHeight };
  let widget = node.widgets.find((w) => w.name === VIDEO_PREVIEW_WIDGET);
  if (!widget) {
    const width = node.size[0];
    const layout = { minHeight: Math.max(64, (width * videoHeight) / videoWidth), minWidth: width };
    widget = { name: VIDEO_PREVIEW_WIDGET, computeLayoutSize: () => layout };
    node.widgets.push(widget);
  }
  video.pause = () => { video.paused = true; };
  video.src = `clip-${videoWidth}x${videoHeight}.mp4`;
  widget.element = { querySelector: (selector) => (selector === "video" ? video : null) };
  return widget;
}

function heights(node) {
  return Object.fromEntries(node.widgets.filter((w) => w.computeLayoutSize)
    .map((w) => [w.name, Math.round(w.computedHeight * 100) / 100]));
}

/** Equal within a pixel (the growth is rounded up to whole pixels). */
function near(actual, expected, message) {
  assert.ok(Math.abs(actual - expected) <= 1, `${message ?? ""} ${actual} vs ${expected}`.trim());
}

function previewFits(node) {
  const preview = node.widgets.find((w) => w.name === VIDEO_PREVIEW_WIDGET);
  return preview.y + preview.computedHeight <= node.size[1] + 1e-9;
}

// --- the rules ---------------------------------------------------------------------------------

test("a preview is the node's width at the video's aspect ratio, within 64..360 px", () => {
  assert.equal(previewHeight(420, 1280, 720), 236);
  assert.equal(previewHeight(420, 720, 1280), MAX_PREVIEW_HEIGHT_PX);   // vertical: capped, not 747
  assert.equal(previewHeight(420, 4000, 100), 64);
  assert.equal(previewHeight(0, 1280, 720), null);
  assert.equal(previewHeight(420, 0, 720), null);
});

test("the setting decides whether the preview shows", () => {
  assert.equal(previewShown("auto", false), true);
  assert.equal(previewShown("auto", true), false);
  assert.equal(previewShown("always", true), true);
  assert.equal(previewShown("never", false), false);
  assert.equal(previewShown("collapsed", false, false), false);
  assert.equal(previewShown("collapsed", true, true), true);
  assert.equal(previewShown("something else", true), false);   // unknown values act as auto
});

function graphWith(node, targets) {
  const links = {};
  const nodes = new Map([[node.id, node]]);
  let next = 1;
  const connect = (from, to) => {
    const id = next++;
    links[id] = { origin_id: from.id, target_id: to.id };
    (from.outputs[0].links ??= []).push(id);
  };
  for (const t of targets) nodes.set(t.id, t);
  const graph = { links, getLink: (id) => links[id], getNodeById: (id) => nodes.get(id) ?? null };
  for (const n of nodes.values()) n.graph = graph;
  return { graph, connect };
}

test("the video output feeds a previewing node directly or through a Reroute, not other nodes", () => {
  const node = makeNode();
  const save = { id: 2, type: "SaveVideo", outputs: [] };
  const reroute = { id: 3, type: "Reroute", outputs: [{ links: [] }] };
  const other = { id: 4, type: "GetVideoComponents", outputs: [] };
  const { connect } = graphWith(node, [save, reroute, other]);
  assert.equal(feedsPreviewingNode(node), false);
  connect(node, other);
  assert.equal(feedsPreviewingNode(node), false);
  connect(node, reroute);
  assert.equal(feedsPreviewingNode(node), false);
  connect(reroute, save);
  assert.equal(feedsPreviewingNode(node), true);
  // a custom node that shows the video in its own preview widget counts too
  const custom = makeNode();
  const viewer = { id: 5, type: "SomePackVideoViewer", widgets: [{ name: VIDEO_PREVIEW_WIDGET }], outputs: [] };
  graphWith(custom, [viewer]).connect(custom, viewer);
  assert.equal(feedsPreviewingNode(custom), true);
});

// --- on the node ---------------------------------------------------------------------------------

function fittedNode(mode, options) {
  const node = makeNode(options);
  const setting = { mode };
  attachPreviewFit(node, () => setting.mode);
  node.arrange();
  return { node, setting, before: { size: node.size[1], heights: heights(node) } };
}

test("without a previewing node the preview shows below the widgets; nothing above it moves", () => {
  const { node, before } = fittedNode("auto");
  const tops = node.widgets.map((w) => w.y);
  showVideo(node, 1280, 720);
  node.arrange();
  node.arrange();
  const preview = node.widgets.at(-1);
  assert.equal(preview.hidden, false);
  assert.equal(preview.computedHeight, 236);
  assert.equal(node.size[1], before.size + 236);
  assert.deepEqual(node.widgets.slice(0, -1).map((w) => w.y), tops);
  assert.deepEqual({ ...heights(node), [VIDEO_PREVIEW_WIDGET]: undefined }, { ...before.heights, [VIDEO_PREVIEW_WIDGET]: undefined });
  assert.ok(previewFits(node));
  assert.equal(node.properties[GROWN_PROPERTY], 236);
});

test("a vertical clip gets at most 360 px, not the ~750 px of the node's width", () => {
  const { node, before } = fittedNode("always");
  showVideo(node, 720, 1280);
  node.arrange();
  assert.equal(node.widgets.at(-1).computedHeight, MAX_PREVIEW_HEIGHT_PX);
  assert.equal(node.size[1], before.size + MAX_PREVIEW_HEIGHT_PX);
});

test("with Save Video attached (auto) the preview is off and the node does not grow", () => {
  const { node, before } = fittedNode("auto");
  const save = { id: 2, type: "SaveVideo", outputs: [] };
  graphWith(node, [save]).connect(node, save);
  showVideo(node, 1280, 720);
  node.arrange();
  node.arrange();
  assert.equal(node.widgets.at(-1).hidden, true);
  assert.equal(node.size[1], before.size);
  const { [VIDEO_PREVIEW_WIDGET]: _hidden, ...others } = heights(node);
  assert.deepEqual(others, before.heights);
});

test("switching the setting shows and hides the preview; the node grows and shrinks by it", () => {
  const { node, setting, before } = fittedNode("never");
  showVideo(node, 1280, 720);
  node.arrange();
  assert.equal(node.widgets.at(-1).hidden, true);
  assert.equal(node.size[1], before.size);
  setting.mode = "always";
  node.arrange();
  assert.equal(node.widgets.at(-1).hidden, false);
  assert.equal(node.size[1], before.size + 236);
  setting.mode = "collapsed";
  node.arrange();
  assert.equal(node.widgets.at(-1).hidden, true);
  assert.equal(node.size[1], before.size);
  assert.equal(node.runcomfyKling3Preview.available, true);
  assert.equal(node.runcomfyKling3Preview.mode, "collapsed");
  node.runcomfyKling3Preview.toggle();   // the panel's "Show the video preview"
  node.arrange();
  assert.equal(node.widgets.at(-1).hidden, false);
  assert.equal(node.size[1], before.size + 236);
  node.runcomfyKling3Preview.toggle();
  node.arrange();
  assert.equal(node.size[1], before.size);
  assert.equal(node.properties[GROWN_PROPERTY], undefined);
});

test("a new run with another aspect ratio resizes the preview by the difference only", () => {
  const { node, before } = fittedNode("always");
  showVideo(node, 1280, 720);
  node.arrange();
  showVideo(node, 720, 720);
  node.arrange();
  assert.equal(node.widgets.at(-1).computedHeight, 360);
  assert.equal(node.size[1], before.size + 360);
  showVideo(node, 1280, 720);
  node.arrange();
  assert.equal(node.size[1], before.size + 236);
});

test("a node saved with the room for its preview does not grow again when it shows once more", () => {
  const { node, before } = fittedNode("always");
  showVideo(node, 1280, 720);
  node.arrange();
  const saved = { size: [...node.size], properties: { ...node.properties } };
  const again = makeNode({ height: saved.size[1] });   // the tab opened again: a new node object
  again.properties = saved.properties;
  attachPreviewFit(again, () => "always");
  showVideo(again, 1280, 720);
  again.arrange();
  again.arrange();
  assert.equal(again.size[1], saved.size[1]);
  assert.equal(again.widgets.at(-1).computedHeight, 236);
  // reloaded without its outputs: the room goes, the node is as compact as before the run
  const bare = makeNode({ height: saved.size[1] });
  bare.properties = { ...saved.properties };
  attachPreviewFit(bare, () => "always");
  bare.arrange();
  assert.equal(bare.size[1], before.size);
});

test("a collapsed node is left alone and a failing fit is reported once", () => {
  const { node, before } = fittedNode("always");
  node.flags.collapsed = true;
  showVideo(node, 1280, 720);
  node.arrange();
  assert.equal(node.size[1], before.size);
  const broken = makeNode();
  const errors = [];
  attachPreviewFit(broken, () => { throw new Error("no settings"); }, (e) => errors.push(e.message));
  broken.arrange();
  broken.arrange();
  assert.deepEqual(errors, ["no settings"]);
});
