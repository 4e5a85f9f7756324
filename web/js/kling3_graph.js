// Reading ComfyUI's graph: the pack's node types, a widget's value, the node behind a link
// (through Reroutes), a multi-shot segment and its chain, the node a status event's execution id
// names (through subgraphs). Plain callbacks and litegraph-shaped objects, no ComfyUI imports, no
// DOM: `node --test web/tests/` runs it on fake graphs.

export const NODE_TYPES = Object.freeze({
  prompt: "RunComfyKling3Prompt",
  segment: "RunComfyKling3MultiPromptSegment",
  textToVideo: "RunComfyKling3TextToVideo",
  promptList: "RunComfyKling3PromptList",
});
const BYPASS_MODE = 4;

// --- widgets and links ------------------------------------------------------------------------

function widgetOf(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

function inputLinked(node, name) {
  const input = node.inputs?.find((i) => i.name === name);
  return input?.link !== null && input?.link !== undefined;
}

/** A widget's value, or null when a link feeds that input (its widget value is then stale). */
export function widgetValue(node, name) {
  if (inputLinked(node, name)) return null;
  const widget = widgetOf(node, name);
  return widget ? widget.value : null;
}

/** The node linked to `node`'s input `name`, through legacy "Reroute" nodes; null if none. */
export function upstreamNode(node, name) {
  let current = node;
  let inputName = name;
  for (let hops = 0; hops < 64; hops++) {
    const input = inputName === null ? current.inputs?.[0] : current.inputs?.find((i) => i.name === inputName);
    if (!input || input.link === null || input.link === undefined) return null;
    const graph = current.graph;
    const link = graph?.getLink ? graph.getLink(input.link) : graph?.links?.[input.link];
    const origin = link ? graph.getNodeById(link.origin_id) : null;
    if (!origin) return null;
    if (origin.type !== "Reroute") return origin;
    current = origin;
    inputName = null;
  }
  return null;
}

export function readSegment(node) {
  if ((node.comfyClass ?? node.type) !== NODE_TYPES.segment) return null;
  if (node.mode === BYPASS_MODE) return { skip: true };
  const prompt = widgetValue(node, "prompt");
  const duration = Number(widgetValue(node, "duration"));
  return { prompt: typeof prompt === "string" ? prompt : null,
    duration: inputLinked(node, "duration") || !Number.isFinite(duration) ? null : duration };
}

// --- walks (plain callbacks, so they run on fake graphs in tests) ------------------------------

/**
 * The shots feeding `node`'s `inputName`, upstream first, by following each segment's
 * `previous` input. `upstream(node, inputName)` gives the node linked to that input (or null);
 * `readSegment(node)` gives {prompt, duration}, {skip: true} for a bypassed segment (ComfyUI
 * passes its `previous` through), or null when the node is not a segment.
 * Returns {segments, linked, complete}: complete is false when the chain ends in something
 * else (a subgraph input, another node type, a loop).
 */
export function collectSegments(node, inputName, upstream, readSegment, maxShots = 50) {
  const reversed = [];
  const seen = new Set();
  let current = upstream(node, inputName);
  const linked = !!current;
  let complete = true;
  while (current) {
    if (seen.has(current) || seen.size >= maxShots) { complete = false; break; }
    seen.add(current);
    const segment = readSegment(current);
    if (!segment) { complete = false; break; }
    if (!segment.skip) reversed.push({ prompt: segment.prompt, duration: segment.duration });
    current = upstream(current, "previous");
  }
  return { segments: reversed.reverse(), linked, complete };
}

/**
 * The node a status event names: ComfyUI's execution id is the node id in the root graph, or
 * "outer:inner:..." through subgraph nodes. `getNode(graph, id)` and `subgraphOf(node)` are
 * the small graph accessors.
 */
export function resolveExecutionId(rootGraph, executionId, getNode, subgraphOf) {
  if (!rootGraph || executionId === null || executionId === undefined) return null;
  const path = String(executionId).split(":");
  let graph = rootGraph;
  let node = null;
  for (let i = 0; i < path.length; i++) {
    node = getNode(graph, path[i]);
    if (!node) return null;
    if (i < path.length - 1) {
      graph = subgraphOf(node);
      if (!graph) return null;
    }
  }
  return node;
}
