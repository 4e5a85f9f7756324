// The video preview on the text-to-video node: shown, collapsed or off, and compact.
//
// After a run ComfyUI adds its own "video-preview" DOM widget to the node (the node returns the
// same `ui` payload as SaveVideo, which other frontends need). Left alone, ComfyUI sizes it to
// the node's width at the video's aspect ratio (a vertical clip on a 420 px node: some 750 px),
// takes the room from the prompt boxes first, and a Save Video node attached to `video` shows
// the same video a second time.
//
// Here, per node, on every layout:
//  * whether the preview shows follows the setting RunComfy.Kling3.NodePreview: "auto" (off while
//    the `video` output feeds a node that previews it, e.g. Save Video), "always", "collapsed"
//    (a toggle in the panel shows it) or "never". Off only hides ComfyUI's widget (nothing is
//    removed from the run's outputs);
//  * a shown preview is the node's width at the video's aspect ratio, at most 360 px, fixed when
//    the video arrives; the node grows by exactly that below its widgets (the preview is the
//    last widget, so nothing above it moves) and shrinks by it again when the preview is hidden.
//    The room given is kept in the node's properties, so a node saved with it (or a tab opened
//    again) does not grow twice.
// No ComfyUI imports and no DOM globals: node --test runs it against litegraph-shaped fakes.

export const VIDEO_PREVIEW_WIDGET = "video-preview";
export const PREVIEW_SETTING = "RunComfy.Kling3.NodePreview";
export const PREVIEW_MODES = Object.freeze(["auto", "always", "collapsed", "never"]);
export const DEFAULT_PREVIEW_MODE = "auto";
/** A shown preview is never taller than this (a vertical clip would otherwise be ~750 px). */
export const MAX_PREVIEW_HEIGHT_PX = 360;
/** ComfyUI's smallest video preview height. */
export const MIN_PREVIEW_HEIGHT_PX = 64;
/** Node types that preview the video they are given (ComfyUI core; PreviewVideo for newer ones). */
export const PREVIEWING_NODE_TYPES = Object.freeze(["SaveVideo", "PreviewVideo", "SaveWEBM"]);
/** Where the room given to the preview is kept (saved with the node's size). */
export const GROWN_PROPERTY = "runcomfy_kling3_preview_px";

const fitted = new WeakSet();   // nodes with the hooks installed
const sized = new WeakSet();    // preview widgets whose layout size is ours

/** Height of a `videoWidth` × `videoHeight` video shown `width` px wide, within 64..`cap` px. */
export function previewHeight(width, videoWidth, videoHeight, cap = MAX_PREVIEW_HEIGHT_PX) {
  const w = Number(width);
  const vw = Number(videoWidth);
  const vh = Number(videoHeight);
  if (!(w > 0) || !(vw > 0) || !(vh > 0)) return null;
  return Math.round(Math.min(cap, Math.max(MIN_PREVIEW_HEIGHT_PX, (w * vh) / vw)));
}

/** Whether the node's preview shows for a setting `mode`. */
export function previewShown(mode, feedsPreviewingNode, expanded) {
  if (mode === "never") return false;
  if (mode === "always") return true;
  if (mode === "collapsed") return Boolean(expanded);
  return !feedsPreviewingNode;   // "auto", and any unknown value
}

function linkOf(graph, id) {
  return (graph?.getLink ? graph.getLink(id) : graph?.links?.[id]) ?? null;
}

/** Whether `node` shows a video itself: a known previewing type or a visible video preview. */
function previewsVideo(node) {
  const type = node?.comfyClass ?? node?.type;
  if (PREVIEWING_NODE_TYPES.includes(type)) return true;
  return Boolean(node?.widgets?.some((w) => w.name === VIDEO_PREVIEW_WIDGET && !w.hidden));
}

/** Whether the node's `video` output feeds (through legacy Reroute nodes) a node that previews it. */
export function feedsPreviewingNode(node) {
  const graph = node?.graph;
  const start = node?.outputs?.find((o) => o.name === "video") ?? node?.outputs?.find((o) => o.type === "VIDEO");
  if (!graph || !start) return false;
  const queue = [...(start.links ?? [])];
  const seen = new Set();
  while (queue.length && seen.size < 256) {
    const id = queue.shift();
    if (seen.has(id)) continue;
    seen.add(id);
    const link = linkOf(graph, id);
    const target = link ? graph.getNodeById?.(link.target_id) : null;
    if (!target) continue;
    if (target.type === "Reroute") queue.push(...(target.outputs?.[0]?.links ?? []));
    else if (previewsVideo(target)) return true;
  }
  return false;
}

/** The loaded <video> the preview shows, or null (not loaded, or not found). */
function shownVideo(widget) {
  const video = widget.element?.querySelector?.("video") ?? null;
  return video && video.videoWidth > 0 && video.videoHeight > 0 ? video : null;
}

/** The preview's layout is the height fixed for the current video (min and max alike). */
function holdPreviewHeight(widget, state) {
  if (sized.has(widget)) return;
  const own = widget.computeLayoutSize;
  widget.computeLayoutSize = function (node) {
    const layout = own.call(this, node) ?? {};
    if (!(state.height > 0)) return layout;
    return { ...layout, minHeight: state.height, maxHeight: state.height,
      minWidth: Math.min(Number(layout.minWidth) || 0, MIN_PREVIEW_HEIGHT_PX) };
  };
  widget.runcomfyKling3OwnLayout = own;
  sized.add(widget);
}

/** The preview's height for the video it shows now at the node's width (ComfyUI's numbers without one). */
function heightFor(node, widget) {
  const video = shownVideo(widget);
  if (video) return previewHeight(node.size[0], video.videoWidth, video.videoHeight);
  // ComfyUI's minWidth is the node's width when the video loaded and minHeight that width over
  // the video's aspect ratio, so their ratio is the video's shape.
  const own = widget.runcomfyKling3OwnLayout?.call(widget, node) ?? {};
  return previewHeight(node.size[0], own.minWidth || node.size[0], own.minHeight) ?? MIN_PREVIEW_HEIGHT_PX;
}

function setGrown(node, state, px) {
  state.grown = px;
  if (node.properties && typeof node.properties === "object") {
    if (px > 0) node.properties[GROWN_PROPERTY] = px;
    else delete node.properties[GROWN_PROPERTY];
  }
}

/**
 * Show, hide and size the node's video preview for the setting `mode`. Call before the node's
 * widgets are laid out. Returns the change of the node's height in px (0 if none). `state`
 * ({key, height, grown, expanded, available, mode}) is the node's preview state.
 */
export function fitVideoPreview(node, state, mode = DEFAULT_PREVIEW_MODE) {
  if (state.grown === null) {   // first layout: the room the saved node already has
    const saved = Number(node.properties?.[GROWN_PROPERTY]);
    state.grown = Number.isFinite(saved) && saved > 0 ? saved : 0;
  }
  state.mode = PREVIEW_MODES.includes(mode) ? mode : DEFAULT_PREVIEW_MODE;
  if (node.flags?.collapsed) return 0;   // its widgets are not laid out; fit when expanded
  const widget = node.widgets?.find((w) => w.name === VIDEO_PREVIEW_WIDGET) ?? null;
  state.available = Boolean(widget);
  let target = 0;
  if (widget && typeof widget.computeLayoutSize === "function") {
    holdPreviewHeight(widget, state);
    const video = shownVideo(widget);
    const key = video ? `${video.currentSrc || video.src}|${video.videoWidth}x${video.videoHeight}`
      : `min:${widget.runcomfyKling3OwnLayout?.call(widget, node)?.minHeight}`;
    if (key !== state.key) {   // a new video: its height at the node's width now
      state.key = key;
      state.height = heightFor(node, widget);
    }
    const shown = previewShown(state.mode, feedsPreviewingNode(node), state.expanded);
    if (widget.hidden !== !shown) {
      widget.hidden = !shown;
      if (!shown) shownVideo(widget)?.pause?.();
    }
    target = shown ? state.height : 0;
  } else {
    state.key = null;
  }
  const change = target - state.grown;
  if (!change) return 0;
  const floor = Number(node.computeSize?.()?.[1]) || 0;
  const height = Math.max(node.size[1] + change, change < 0 ? floor : 0);
  setGrown(node, state, target);
  const delta = height - node.size[1];
  if (delta) node.setSize([node.size[0], height]);
  return delta;
}

/**
 * Install the hooks on one node; `mode()` reads the setting. The fit runs first thing in the
 * node's arrange(), which lays out its slots and widgets and which ComfyUI calls both while
 * drawing the links and while drawing the node itself; without arrange() (older frontends), in
 * onDrawForeground, which runs just before the layout in drawNode. A size change then asks for a
 * full redraw so the outline follows. `node.runcomfyKling3Preview` is the state the panel reads
 * (available, mode, expanded) and its `toggle()` shows or hides a collapsed preview.
 */
export function attachPreviewFit(node, mode = () => DEFAULT_PREVIEW_MODE, onError = () => {}) {
  if (fitted.has(node)) return;
  fitted.add(node);
  const state = { key: null, height: 0, grown: null, expanded: false, available: false,
    mode: DEFAULT_PREVIEW_MODE, failed: false };
  state.toggle = () => {
    state.expanded = !state.expanded;
    node.setDirtyCanvas?.(true, true);
  };
  node.runcomfyKling3Preview = state;
  const hook = typeof node.arrange === "function" ? "arrange" : "onDrawForeground";
  const original = node[hook];
  node[hook] = function (...args) {
    if (!state.failed) {   // runs every frame: report a failure once, then stay out
      try {
        if (fitVideoPreview(this, state, mode()) !== 0) this.setDirtyCanvas?.(true, true);
      } catch (error) {
        state.failed = true;
        onError(error);
      }
    }
    return original?.apply(this, args);
  };
  const onResize = node.onResize;
  node.onResize = function (...args) {
    const result = onResize?.apply(this, args);
    this.setDirtyCanvas?.(true, true);
    return result;
  };
}
