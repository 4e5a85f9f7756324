// The "RunComfy API token" entry of ComfyUI's settings dialog.
//
// It is a custom-rendered setting whose own value is never set: the pasted key goes straight
// to POST /runcomfy/kling3/token (stored server-side, owner-only), the field empties itself, and
// only the masked key and its source come back. So the key is never in comfy.settings.json,
// never in a workflow, and never sent back to any browser in full.

import { tokenCheckText, tokenStatusText } from "./kling3_token_text.js";
import { t } from "./kling3_i18n.js";
import { addStyleOnce, el } from "./kling3_dom.js";

export const SETTING_ID = "RunComfy.Kling3.ApiToken";
export const TOKEN_ROUTE = "/runcomfy/kling3/token";
export const CHECK_ROUTE = "/runcomfy/kling3/token/check";

// ComfyUI's own controls: PrimeVue's input and button classes (the settings dialog's look: its
// input width and font, its button style); the rules below only lay them out, and stand in for
// PrimeVue's look where its styles are not loaded (they are weaker: :where()).
const INPUT_CLASS = "p-inputtext p-component";
const BUTTON_CLASS = "p-button p-component p-button-secondary p-button-sm";
const STYLE = `
.rk3-token { display: flex; flex-direction: column; gap: 8px; width: 100%; max-width: 36rem; font-size: 14px; }
.rk3-token-row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.rk3-token input.rk3-token-input { flex: 1 1 14rem; min-width: 14rem; font-size: 0.75rem; } /* the dialog's search field */
:where(.rk3-token input) { padding: 6px 10px; border-radius: 6px; border: 1px solid var(--border-color, #555);
  background: var(--comfy-input-bg, #222); color: var(--input-text, #ddd); font: inherit; }
:where(.rk3-token button) { padding: 6px 12px; border-radius: 6px; cursor: pointer; font: inherit;
  border: 1px solid var(--border-color, #555); background: var(--comfy-menu-bg, #333); color: var(--fg-color, #ddd); }
.rk3-token button:disabled { opacity: .5; cursor: default; }
.rk3-token-status { font-size: 14px; color: var(--p-text-muted-color, var(--descrip-text, #aaa)); }
.rk3-token-result { font-size: 14px; min-height: 1.2em; }
.rk3-token-result.valid { color: #2fb38a; } .rk3-token-result.invalid { color: #e0564f; }
.rk3-token-result.unreachable { color: #e0a030; }
`;


/**
 * The setting's element. `request(path, {method, body})` resolves to the JSON answer or throws
 * an Error with the server's message; `onChange()` runs after the token was saved or removed.
 */
export function tokenSettingElement(request, onChange = () => {}) {
  addStyleOnce("token", STYLE);
  const root = el("div", "rk3-token");
  const status = el("div", "rk3-token-status", t("kling3.token.reading", "Reading the token setting\u2026"));
  const input = el("input", `${INPUT_CLASS} rk3-token-input`);
  Object.assign(input, { type: "password", placeholder: t("kling3.token.placeholder", "Paste a RunComfy API key"),
    autocomplete: "off",
    spellcheck: false, name: "runcomfy-kling3-token-entry" });
  input.setAttribute("data-lpignore", "true");     // keep password managers from offering to store it
  input.setAttribute("data-1p-ignore", "true");
  const save = el("button", BUTTON_CLASS, t("kling3.token.save", "Save"));
  const check = el("button", BUTTON_CLASS, t("kling3.token.check", "Check"));
  const remove = el("button", BUTTON_CLASS, t("kling3.token.remove", "Remove saved key"));
  const result = el("div", "rk3-token-result");
  for (const button of [save, check, remove]) button.type = "button";
  const row = el("div", "rk3-token-row");
  row.append(input, save, check, remove);
  root.append(status, row, result);

  const show = (answer) => {
    status.textContent = tokenStatusText(answer);
    remove.disabled = !(answer?.source === "settings" || answer?.overridden?.includes("settings"));
  };
  const report = (text, kind = "") => {
    result.textContent = text;
    result.className = `rk3-token-result ${kind}`;
  };
  const busy = async (work) => {
    for (const button of [save, check, remove]) button.disabled = true;
    try {
      await work();
    } catch (error) {
      report(error?.message || String(error), "invalid");
    } finally {
      save.disabled = check.disabled = false;
      request(TOKEN_ROUTE).then(show, () => {});
    }
  };

  save.addEventListener("click", () => busy(async () => {
    const token = input.value;
    input.value = "";  // never keep the key around in the page
    if (!token.trim()) {
      report(t("kling3.token.empty", "Paste a key into the field first."));
      return;
    }
    show(await request(TOKEN_ROUTE, { method: "POST", body: { token } }));
    report(t("kling3.token.saved", "Saved. Use Check to test it against the API."));
    onChange();
  }));
  check.addEventListener("click", () => busy(async () => {
    report(t("kling3.token.checking", "Checking\u2026"));
    const answer = await request(CHECK_ROUTE, { method: "POST", body: {} });
    report(tokenCheckText(answer), answer?.result ?? "");
  }));
  remove.addEventListener("click", () => busy(async () => {
    show(await request(TOKEN_ROUTE, { method: "DELETE", body: {} }));
    report(t("kling3.token.removed", "The saved key was removed."));
    onChange();
  }));
  input.addEventListener("keydown", (event) => {
    event.stopPropagation();  // typing here must not trigger ComfyUI's keyboard shortcuts
    if (event.key === "Enter") save.click();
  });

  request(TOKEN_ROUTE).then(show, (error) => {
    status.textContent = t("kling3.token.routesDown", "The pack's server routes did not answer ({message}).",
      { message: error?.message || error });
  });
  return root;
}
