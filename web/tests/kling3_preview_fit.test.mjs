// Room for the video preview on the text-to-video node, against a litegraph-shaped node whose
// arrange() lays widgets out the way ComfyUI's frontend (1.43) does: fixed widgets take their
// height, the growable ones (DOM widgets: prompt boxes, the panel, the preview) share what is
// left (each at least its minimum, the rest in equal parts up to each one's maximum), and the
// node grows only when the minimums do not fit.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  attachPreviewFit, KEEP_WIDGET_HEIGHT_PX, previewGrowth, VIDEO_PREVIEW_WIDGET, videoHeightAt,
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
    id, size: [width, height], flags: {}, redraws: [],
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

// --- the arithmetic --------------------------------------------------------------------------

test("the preview gets what it needs from spare height above the kept height, the node the rest", () => {
  const prompts = [{ height: 148, min: 50 }, { height: 148, min: 50 }, { height: 68, min: 68 }];
  assert.equal(previewGrowth(236.25, 0, prompts), 237, "prompt boxes under the kept height give nothing");
  const tall = [{ height: 268, min: 50 }, { height: 268, min: 50 }];
  assert.equal(previewGrowth(460, 0, tall), 460 - 2 * (268 - KEEP_WIDGET_HEIGHT_PX));
  assert.equal(previewGrowth(200, 0, [{ height: 500, min: 50 }]), 0, "enough spare: no growth");
  assert.equal(previewGrowth(236, 236, prompts), 0, "same height as before: no growth");
  assert.equal(previewGrowth(236, 460, prompts), 0, "a shorter video never shrinks the node");
});

test("a video's height at the node's width follows its aspect ratio, never under 64 px", () => {
  assert.equal(videoHeightAt(420, 480, 270), 236.25);
  assert.equal(Math.round(videoHeightAt(420, 270, 480)), 747);
  assert.equal(videoHeightAt(420, 4000, 100), 64);
  assert.equal(videoHeightAt(420, 0, 270), null);
  assert.equal(videoHeightAt(undefined, 480, 270), null);
});

// --- on a node -------------------------------------------------------------------------------

test("without the fit, the layout squeezes the prompt boxes (the behaviour being fixed)", () => {
  const node = makeNode();
  node.arrange();
  near(heights(node).prompt, 141);
  showVideo(node, 480, 270);
  node.arrange();
  near(heights(node).prompt, 50);
  assert.ok(node.size[1] < 760 + 236, "grew only to the minimums");
});

test("after a run the node grows to show the whole preview; prompt boxes and panel keep their size", () => {
  const node = makeNode();
  attachPreviewFit(node);
  node.arrange();
  const before = heights(node);
  showVideo(node, 480, 270);
  node.arrange();
  const after = heights(node);
  assert.equal(after[VIDEO_PREVIEW_WIDGET], 236.25);
  near(after.prompt, before.prompt);
  near(after.negative_prompt, before.negative_prompt);
  assert.equal(after.runcomfy_kling3_panel, 68);
  assert.ok(previewFits(node), "the preview ends inside the node");
  assert.equal(Math.round(node.size[1]), 997);
  assert.ok(node.redraws.some(([foreground]) => foreground), "the node is redrawn at its new size");
});

test("the preview is held to the video's height at the node's width: no black bars", () => {
  const node = makeNode({ height: 1400 });
  attachPreviewFit(node);
  node.arrange();
  showVideo(node, 480, 270);
  node.arrange();
  assert.equal(heights(node)[VIDEO_PREVIEW_WIDGET], 236.25);
  node.setSize([600, node.size[1]]);   // made wider by hand: the video may grow with it
  node.arrange();
  assert.equal(heights(node)[VIDEO_PREVIEW_WIDGET], 337.5);
});

test("a new run with another aspect ratio resizes the preview; a shorter one never shrinks the node", () => {
  const node = makeNode();
  attachPreviewFit(node);
  node.arrange();
  showVideo(node, 480, 270);
  node.arrange();
  const kept = heights(node).prompt;
  near(kept, 141);
  showVideo(node, 270, 480);   // 9:16 into the preview that was made for 16:9
  node.arrange();
  assert.equal(Math.round(heights(node)[VIDEO_PREVIEW_WIDGET]), 747);
  near(heights(node).prompt, kept);
  assert.ok(previewFits(node));
  const tall = node.size[1];
  showVideo(node, 480, 270);
  node.arrange();
  assert.equal(node.size[1], tall);
  assert.equal(heights(node)[VIDEO_PREVIEW_WIDGET], 236.25);
  assert.ok(heights(node).prompt > kept, "the freed height goes to the prompt boxes");
  const settled = node.size[1];
  showVideo(node, 480, 270);   // same shape again
  node.arrange();
  assert.equal(node.size[1], settled);
});

test("a saved node that already has room does not grow by the preview again after reloading", () => {
  const first = makeNode();
  attachPreviewFit(first);
  first.arrange();
  showVideo(first, 480, 270);
  first.arrange();
  let saved = first.size[1];
  const growths = [];
  for (let cycle = 0; cycle < 3; cycle++) {
    const reloaded = makeNode({ height: saved });   // outputs are not saved: no preview
    attachPreviewFit(reloaded);
    reloaded.arrange();
    showVideo(reloaded, 480, 270);
    reloaded.arrange();
    assert.ok(previewFits(reloaded));
    near(heights(reloaded).prompt, KEEP_WIDGET_HEIGHT_PX, "taller boxes give their spare height first");
    growths.push(reloaded.size[1] - saved);
    saved = reloaded.size[1];
  }
  // Boxes under the kept height grew to it once (141 -> 150 px each), then nothing moves.
  assert.deepEqual(growths.map(Math.round), [2 * (KEEP_WIDGET_HEIGHT_PX - 141), 0, 0]);
});

test("several nodes fit their own previews independently", () => {
  const wide = makeNode({ id: 1 });
  const tall = makeNode({ id: 2, width: 380, height: 584 });
  const square = makeNode({ id: 3, width: 460, height: 1000 });
  for (const node of [wide, tall, square]) {
    attachPreviewFit(node);
    node.arrange();
  }
  showVideo(wide, 480, 270);
  showVideo(tall, 270, 480);
  showVideo(square, 360, 360);
  for (const node of [wide, tall, square]) node.arrange();
  assert.deepEqual([wide, tall, square].map((n) => Math.round(heights(n)[VIDEO_PREVIEW_WIDGET])), [236, 676, 460]);
  for (const node of [wide, tall, square]) assert.ok(previewFits(node), `node ${node.id}`);
  assert.equal(Math.round(wide.size[1]), 997);
  near(heights(square).prompt, KEEP_WIDGET_HEIGHT_PX, "taller boxes gave their spare height first");
});

test("a collapsed node is fitted when expanded; a removed preview gets room again when it returns", () => {
  const node = makeNode();
  attachPreviewFit(node);
  node.arrange();
  node.flags.collapsed = true;
  showVideo(node, 480, 270);
  node.arrange();
  assert.equal(node.size[1], 760, "nothing happens while collapsed");
  node.flags.collapsed = false;
  node.arrange();
  assert.ok(previewFits(node));
  near(heights(node).prompt, 141);

  node.widgets = node.widgets.filter((w) => w.name !== VIDEO_PREVIEW_WIDGET);
  node.arrange();
  assert.ok(heights(node).prompt > 150, "the prompt boxes take the room back");
  showVideo(node, 270, 480);
  node.arrange();
  assert.ok(previewFits(node));
  assert.equal(Math.round(heights(node)[VIDEO_PREVIEW_WIDGET]), 747);
  near(heights(node).prompt, KEEP_WIDGET_HEIGHT_PX);
});

test("the fit works through onDrawForeground where arrange() does not exist, and fails quietly once", () => {
  const node = makeNode();
  delete node.arrange;
  const errors = [];
  attachPreviewFit(node, (error) => errors.push(error));
  assert.equal(typeof node.onDrawForeground, "function");
  layOut(node);
  showVideo(node, 480, 270);
  node.onDrawForeground();
  layOut(node);
  assert.ok(previewFits(node));
  near(heights(node).prompt, 141);

  const broken = makeNode();
  attachPreviewFit(broken, (error) => errors.push(error));
  broken.arrange();
  const widget = showVideo(broken, 480, 270);
  widget.element = { querySelector() { throw new Error("frontend changed"); } };
  broken.arrange();
  broken.arrange();
  assert.equal(errors.length, 1, "reported once, then left out");
  assert.match(errors[0].message, /frontend changed/);
  assert.equal(heights(broken)[VIDEO_PREVIEW_WIDGET], 236.25, "the node is still laid out");
});

test("any size change redraws the whole node, so its outline never lags behind its widgets", () => {
  // ComfyUI's layout grows a node after drawing its outline and asks only for a background
  // redraw: without a full one the old outline stays on screen.
  const node = makeNode();
  attachPreviewFit(node);
  node.redraws = [];
  node.setSize([420, 800]);
  assert.deepEqual(node.redraws, [[true, true]]);
});
