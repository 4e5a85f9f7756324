// Room for ComfyUI's video preview on the text-to-video node.
//
// After a run ComfyUI adds a "video-preview" DOM widget to the node and lays the widgets out
// again. Its layout gives every growable widget (the prompt boxes, our panel, the preview) at
// least its minimum height and only grows the node when those minimums do not fit, so on this
// node the prompt boxes are squeezed to two lines first. It also grows the node *after* the
// node's outline has been drawn and asks only for a background redraw, so the outline stays
// at the old size and the preview seems to run past the node's bottom edge until something
// else redraws the canvas.
//
// ComfyUI also sizes the preview from the first video only: a later run with another aspect
// ratio plays in a box of the old shape.
//
// Here, per node: when a new video shows in the preview, the preview is sized from that video
// (the node's width over its aspect ratio, as ComfyUI does for the first one) and held to it
// (more would only add black bars), and just before the layout runs the node grows by what
// the preview needs minus what the other widgets can spare above a comfortable height; any
// size change then redraws the node at once.
// No ComfyUI imports and no DOM globals: node --test runs it against litegraph-shaped fakes.

export const VIDEO_PREVIEW_WIDGET = "video-preview";
/** A prompt box keeps up to this much of its height when a preview arrives (some 8 lines). */
export const KEEP_WIDGET_HEIGHT_PX = 150;
/** ComfyUI's smallest video preview height. */
export const MIN_PREVIEW_HEIGHT_PX = 64;

const fitted = new WeakSet();   // nodes with the hooks installed
const sized = new WeakSet();    // preview widgets whose layout is sized from the video shown

/**
 * How much taller the node must get so the preview goes from `currentHeight` to
 * `wantedHeight` while each other growable widget ({height, min}) keeps its height, or
 * `keep` px of it if it is taller: space above that is given to the preview first.
 */
export function previewGrowth(wantedHeight, currentHeight, others, keep = KEEP_WIDGET_HEIGHT_PX) {
  const need = Number(wantedHeight) - (Number(currentHeight) || 0);
  if (!(need > 0)) return 0;
  const spare = others.reduce((sum, w) => {
    const height = Number(w.height);
    if (!Number.isFinite(height)) return sum;
    return sum + Math.max(0, height - Math.max(Number(w.min) || 0, keep));
  }, 0);
  return Math.max(0, Math.ceil(need - spare));
}

/** Height of a `videoWidth` × `videoHeight` video shown `width` px wide (null if unknown). */
export function videoHeightAt(width, videoWidth, videoHeight) {
  const w = Number(width);
  const vw = Number(videoWidth);
  const vh = Number(videoHeight);
  if (!(w > 0) || !(vw > 0) || !(vh > 0)) return null;
  return Math.max(MIN_PREVIEW_HEIGHT_PX, (w * vh) / vw);
}

function previewWidget(node) {
  return node.widgets?.find((w) => w.name === VIDEO_PREVIEW_WIDGET && !w.hidden) ?? null;
}

/** The loaded <video> the preview shows, or null (not loaded, or not found). */
function shownVideo(widget) {
  const video = widget.element?.querySelector?.("video") ?? null;
  return video && video.videoWidth > 0 && video.videoHeight > 0 ? video : null;
}

/** Widgets that share the node's free height, as the layout sees them (computeSize wins). */
function growableWidgets(node, except) {
  return (node.widgets ?? []).filter((w) => w !== except && !w.hidden && !w.computeSize
    && typeof w.computeLayoutSize === "function");
}

/**
 * The preview's layout on this node: at least the height the current video had at the node's
 * width when it arrived (state.previewMin), at most its height at the width now. Without a
 * known video, ComfyUI's own numbers, held to the shape they imply.
 */
function sizePreviewFromVideo(widget, state) {
  if (sized.has(widget)) return;
  const own = widget.computeLayoutSize;
  widget.computeLayoutSize = function (node) {
    const layout = own.call(this, node);
    if (!layout) return layout;
    const width = node?.size?.[0];
    const video = state.video;
    if (video && state.previewMin !== null) {
      const fit = videoHeightAt(width, video.videoWidth, video.videoHeight) ?? state.previewMin;
      return { ...layout, minHeight: state.previewMin, maxHeight: Math.max(state.previewMin, fit) };
    }
    // ComfyUI's minWidth is the node's width when the video loaded and minHeight that width
    // over the video's aspect ratio, so their ratio is the video's shape.
    if (layout.maxHeight !== undefined || !(layout.minHeight > 0) || !(layout.minWidth > 0)) return layout;
    const fit = videoHeightAt(width, layout.minWidth, layout.minHeight) ?? layout.minHeight;
    return { ...layout, maxHeight: Math.max(layout.minHeight, fit) };
  };
  sized.add(widget);
}

/**
 * Make room for the node's video preview when a new video shows in it. Call before the node's
 * widgets are laid out: their heights from the last layout are the ones kept. Returns the
 * growth in px (0 if none). `state` ({key, video, previewMin}) remembers the video already
 * made room for.
 */
export function fitVideoPreview(node, state) {
  const widget = previewWidget(node);
  if (!widget || typeof widget.computeLayoutSize !== "function") {
    Object.assign(state, { key: null, video: null, previewMin: null });  // a new one gets room again
    return 0;
  }
  sizePreviewFromVideo(widget, state);
  if (node.flags?.collapsed) return 0;   // its widgets are not laid out; fit when expanded
  const video = shownVideo(widget);
  // Without a readable <video>, a change of ComfyUI's own minimum stands for a new video.
  const key = video ?? `min:${widget.computeLayoutSize(node)?.minHeight}`;
  if (key === state.key) return 0;
  const current = state.key === null ? 0 : Number(widget.computedHeight) || 0;
  state.key = key;
  state.video = video;
  state.previewMin = video ? videoHeightAt(node.size[0], video.videoWidth, video.videoHeight) : null;
  const wanted = Number(widget.computeLayoutSize(node)?.minHeight);
  const others = growableWidgets(node, widget).map((w) => ({
    height: w.computedHeight, min: w.computeLayoutSize(node)?.minHeight,
  }));
  const growth = Number.isFinite(wanted) ? previewGrowth(wanted, current, others) : 0;
  if (growth > 0) node.setSize([node.size[0], node.size[1] + growth]);
  return growth;
}

/**
 * Install the hooks on one node. The fit runs first thing in the node's arrange(), which lays
 * out its slots and widgets and which ComfyUI calls both while drawing the links (before any
 * node is drawn) and while drawing the node itself; without arrange() (older frontends), in
 * onDrawForeground, which runs just before the layout in drawNode. A size change (ours, the
 * layout's own growth, the panel's) then asks for a full redraw so the outline follows.
 */
export function attachPreviewFit(node, onError = () => {}) {
  if (fitted.has(node)) return;
  fitted.add(node);
  const state = { key: null, video: null, previewMin: null, failed: false };
  const hook = typeof node.arrange === "function" ? "arrange" : "onDrawForeground";
  const original = node[hook];
  node[hook] = function (...args) {
    if (!state.failed) {   // runs every frame: report a failure once, then stay out
      try {
        if (fitVideoPreview(this, state) > 0) this.setDirtyCanvas?.(true, true);
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
