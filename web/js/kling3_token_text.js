// What the "RunComfy API token" settings entry says: the token in use and its source, and the
// answer of a check against the API. No ComfyUI imports, no DOM: `node --test web/tests/` runs it.

import { t } from "./kling3_i18n.js";

// Functions, not strings: the language is read when the text is shown.
const SOURCE_LABELS = {
  settings: () => t("kling3.token.sourceSettings", "saved in these settings"),
  RUNCOMFY_API_TOKEN: () => t("kling3.token.sourceEnv", "from the environment variable {name}",
    { name: "RUNCOMFY_API_TOKEN" }),
  RUNCOMFY_TOKEN: () => t("kling3.token.sourceEnv", "from the environment variable {name}", { name: "RUNCOMFY_TOKEN" }),
};

/** What the settings entry says about the token in use (from GET /runcomfy/kling3/token). */
export function tokenStatusText(status) {
  if (!status || !status.configured) {
    return t("kling3.token.none",
      "No token set. Paste your RunComfy API key here, or set RUNCOMFY_API_TOKEN before starting ComfyUI.");
  }
  const source = Object.hasOwn(SOURCE_LABELS, status.source ?? "") ? SOURCE_LABELS[status.source]() : String(status.source);
  let text = t("kling3.token.inUse", "In use: {masked} ({source}).", { masked: status.masked, source });
  const overridden = (status.overridden ?? [])
    .map((s) => (s === "settings" ? t("kling3.token.savedToken", "the saved token") : s));
  if (overridden.length) {
    text += " " + t("kling3.token.alsoSet", "Also set but not used: {names}.", { names: overridden.join(", ") });
  }
  return text;
}

const CHECK_LABELS = {
  valid: () => t("kling3.token.valid", "Valid"),
  invalid: () => t("kling3.token.invalid", "Invalid"),
  unreachable: () => t("kling3.token.unreachable", "Could not check"),
};

export function tokenCheckText(result) {
  if (!result || !Object.hasOwn(CHECK_LABELS, result.result ?? "")) return t("kling3.token.unexpected", "Could not check: unexpected answer");
  const detail = withoutRepeatedCodes(result.detail);
  const label = CHECK_LABELS[result.result]();
  return detail ? t("kling3.token.checked", "{result}: {detail}", { result: label, detail }) : label;
}

/** "Unauthorized (HTTP 401): ... (401)" -> the code once: a "(...)" that only repeats a code is dropped. */
export function withoutRepeatedCodes(text) {
  if (!text) return "";
  const seen = new Set();
  return String(text).replace(/\s*\((?:HTTP |code |error )?(\d{3})\)|\b(\d{3})\b/gi, (whole, inParens, bare) => {
    const code = inParens ?? bare;
    if (inParens && seen.has(code)) return "";
    seen.add(code);
    return whole;
  }).trim();
}
