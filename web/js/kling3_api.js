// The one way the extension talks to the pack's own routes (/runcomfy/kling3/...): JSON in and
// out through ComfyUI's api.fetchApi (it adds the server's base path and any user header).
// kling3_settings.js and kling3_budget_settings.js take it as an argument (from the extension
// and from the history tab), so they import nothing of ComfyUI themselves.

import { api } from "../../../scripts/api.js";

/** JSON from one of the pack's routes; throws an Error carrying the server's message. */
export async function request(path, { method = "GET", body } = {}) {
  const options = { method, cache: "no-store" };
  if (method !== "GET") {
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify(body ?? {});
  }
  const response = await api.fetchApi(path, options);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new Error(data?.error || `HTTP ${response.status} from ${path}`);
  return data;
}
