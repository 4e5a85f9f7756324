// Texts the extension hands to ComfyUI's frontend once follow a change of Comfy.Locale without a
// reload: the Spending tab's title and tooltip (followLanguage, as kling3_history.js registers the
// tab) and the templates' titles after the frontend rebuilds its template lists.
// Run: node --test web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { followLanguage, retitleTab } from "../js/kling3_history_logic.js";
import { setTranslations, t } from "../js/kling3_i18n.js";
import { installTemplateInfo } from "../js/kling3_templates.js";

const LOCALES = Object.fromEntries(["en", "ko"].map((lang) => [lang,
  JSON.parse(readFileSync(new URL(`../../locales/${lang}/main.json`, import.meta.url), "utf8"))]));
const KO = LOCALES.ko.kling3;
const TAB_ID = "runcomfy-kling3-history";
// kling3_history.js's TAB_TEXT.title and .tooltip
const tabTexts = () => ({
  title: t("kling3.spending.title", "Spending"),
  tooltip: t("kling3.spending.tooltip", "RunComfy Kling 3.0: paid jobs, spend and budgets"),
});

test("retitleTab writes the texts into the registered tab, only where they differ", () => {
  const other = { id: "workflows", title: "sideToolbar.workflows" };
  const tab = { id: TAB_ID, title: "Spending", tooltip: "old", icon: "pi pi-wallet" };
  const tabs = [other, tab];
  assert.equal(retitleTab(tabs, TAB_ID, { title: "비용", tooltip: "old" }), true);
  assert.deepEqual(tab, { id: TAB_ID, title: "비용", tooltip: "old", icon: "pi pi-wallet" });
  assert.equal(retitleTab(tabs, TAB_ID, { title: "비용", tooltip: "old" }), false, "nothing to change");
  assert.equal(retitleTab(tabs, TAB_ID, { title: undefined, tooltip: null }), false, "no text, no change");
  assert.equal(tab.title, "비용");
  assert.equal(other.title, "sideToolbar.workflows", "the frontend's own tabs are left alone");
  assert.equal(retitleTab([other], TAB_ID, { title: "x" }), false, "not registered");
  assert.equal(retitleTab(null, TAB_ID, { title: "x" }), false, "no list of tabs");
});

test("the Spending tab follows a change of language (English for one the pack has no texts for)", () => {
  let locale = "en";
  setTranslations(LOCALES, () => locale);
  try {
    // registered in setup, in the language then in use; the frontend's list holds a reactive proxy of it
    const tab = { id: TAB_ID, ...tabTexts(), type: "custom" };
    const written = [];
    const entry = new Proxy(tab, { set(target, key, value) { written.push(key); target[key] = value; return true; } });
    const manager = { getSidebarTabs: () => [{ id: "node-library", title: "sideToolbar.nodeLibrary" }, entry] };
    let redrawn = 0;
    const stop = followLanguage(manager, tab, tabTexts, () => { redrawn += 1; });
    assert.equal(tab.title, "Spending");

    locale = "ko";          // Comfy.Locale set: the next t() anywhere (or its change event) notifies
    t("kling3.status.done", "Done");
    assert.deepEqual([tab.title, tab.tooltip], [KO.spending.title, KO.spending.tooltip]);
    assert.deepEqual(written, ["title", "tooltip"], "written through the frontend's entry, so its button redraws");
    assert.equal(redrawn, 1, "the open tab is drawn again");

    locale = "fr";          // ComfyUI speaks French, the pack does not: its English, never a key
    t("kling3.status.done", "Done");
    assert.deepEqual([tab.title, tab.tooltip], ["Spending", "RunComfy Kling 3.0: paid jobs, spend and budgets"]);
    stop();

    const alone = { id: TAB_ID, title: "Spending", tooltip: "" };   // a frontend without getSidebarTabs
    const stopAlone = followLanguage({}, alone, tabTexts);
    locale = "ko";
    t("kling3.status.done", "Done");
    assert.equal(alone.title, KO.spending.title);
    stopAlone();
  } finally {
    setTranslations({}, () => "en");
  }
});

// --- the templates' titles ----------------------------------------------------------------------

/** The frontend's "workflowTemplates" store as the pack sees it: computed lists rebuilt with the file
 * names as titles on every fetch; loadWorkflowTemplates fetches once; a change of locale fetches again
 * without that action and replaces knownTemplateNames (a state change: $subscribe). */
function templateStore(names) {
  const actions = [];
  const subscribers = [];
  const build = () => names.map((name) => ({ name, title: name, description: name, sourceModule: "pack" }));
  let enhanced = [];
  let grouped = [];
  const fetch = () => {
    enhanced = build();
    grouped = build();
    for (const callback of subscribers) callback({ storeId: "workflowTemplates" });
  };
  return {
    $id: "workflowTemplates",
    isLoaded: false,
    $onAction: (callback) => actions.push(callback),
    $subscribe: (callback) => subscribers.push(callback),
    get enhancedTemplates() { return enhanced; },
    get groupedTemplates() {
      return [{ label: "Custom Nodes", modules: [{ moduleName: "pack", templates: grouped }] }];
    },
    loadWorkflowTemplates() {
      const after = [];
      for (const callback of actions) callback({ name: "loadWorkflowTemplates", after: (fn) => after.push(fn) });
      if (!this.isLoaded) {
        fetch();
        this.isLoaded = true;
      }
      for (const fn of after) fn();
    },
    localeChanged() { if (this.isLoaded) fetch(); },
  };
}

const pageWith = (store) => ({
  querySelector: (selector) => (selector === "#vue-app"
    ? { __vue_app__: { config: { globalProperties: { $pinia: { _s: new Map([[store.$id, store]]) } } } } } : null),
});

test("the templates' titles follow a change of language: the frontend rebuilds its lists without loading again", () => {
  let locale = "en";
  setTranslations(LOCALES, () => locale);
  try {
    const name = "kling3_single_shot_with_sound";
    const store = templateStore([name]);
    assert.equal(installTemplateInfo(pageWith(store)), true);
    store.loadWorkflowTemplates();
    const titles = () => [store.enhancedTemplates[0].title, store.groupedTemplates[0].modules[0].templates[0].title];
    assert.deepEqual(titles(), Array(2).fill("Kling 3.0 \u00b7 One shot with sound"));

    locale = "ko";
    store.localeChanged();
    assert.deepEqual(titles(), Array(2).fill(KO.templates.single.title));
    assert.equal(store.enhancedTemplates[0].description, KO.templates.single.description);

    store.loadWorkflowTemplates();     // opening the dialog again: already loaded, nothing fetched
    assert.deepEqual(titles(), Array(2).fill(KO.templates.single.title));
  } finally {
    setTranslations({}, () => "en");
  }
});
