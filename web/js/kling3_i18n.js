// The extension's texts in the ComfyUI user's language (the Comfy.Locale setting).
//
//   import { t } from "./kling3_i18n.js";
//   t("kling3.cost.estimate", "Estimated cost \u2248 {usd}", { usd: "$0.84" })
//
// The translations are the pack's locales/<lang>/main.json, under "kling3". ComfyUI serves every
// pack's locales merged by language on GET /i18n, and its frontend translates node names,
// tooltips and settings entries from there by itself. It does not hand its translate function to
// extensions (frontend 1.43 puts no i18n on window.comfyAPI), so this module reads the pack's part
// of /i18n once, before the nodes are created, and follows Comfy.Locale on every call.
// Locales the pack has no texts for fall back to English, like the frontend's own fallback.
//
// No imports: `node --test` loads this module as it is; in ComfyUI it finds the app and api on
// window.comfyAPI (what ../../scripts/app.js re-exports).

export const NAMESPACE = "kling3";
export const FALLBACK_LOCALE = "en";
export const LOCALE_SETTING = "Comfy.Locale";
export const I18N_ROUTE = "/i18n";

let catalog = {};                // locale -> {kling3: {...}}
let localeSource = () => FALLBACK_LOCALE;
const listeners = new Set();
let lastLocale = null;

/** The value at a dotted `key` ("kling3.cost.estimate") in `messages`, or undefined. */
export function lookup(messages, key) {
  let value = messages;
  for (const part of String(key).split(".")) {
    if (value === null || typeof value !== "object" || !(part in value)) return undefined;
    value = value[part];
  }
  return typeof value === "string" ? value : undefined;
}

/** `text` with each {name} replaced by `vars.name`; unknown placeholders stay as written. */
export function format(text, vars = {}) {
  return String(text).replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(vars, name) && vars[name] !== undefined && vars[name] !== null
      ? String(vars[name]) : whole);
}

/** The locale the texts are shown in: Comfy.Locale when the pack has texts for it, else English. */
export function currentLocale() {
  let locale;
  try {
    locale = localeSource();
  } catch {
    locale = undefined;
  }
  locale = typeof locale === "string" && locale ? locale : FALLBACK_LOCALE;
  return catalog[locale] ? locale : FALLBACK_LOCALE;
}

/** The text for `key` in the current locale, else `english`; {name} placeholders filled from `vars`. */
export function t(key, english, vars = {}) {
  const locale = currentLocale();
  notifyIfChanged(locale);
  return format(lookup(catalog[locale], key) ?? english, vars);
}

/**
 * Use `data` (GET /i18n's answer: {locale: {...every pack's main.json keys}}) as the translations
 * and `getLocale()` as the locale. Keeps only this pack's namespace.
 */
export function setTranslations(data, getLocale = localeSource) {
  const next = {};
  for (const [locale, messages] of Object.entries(data ?? {})) {
    const own = messages?.[NAMESPACE];
    if (own && typeof own === "object") next[locale] = { [NAMESPACE]: own };
  }
  catalog = next;
  localeSource = getLocale;
  notifyIfChanged(currentLocale(), true);
}

/** The locales the pack has texts for (after loading). */
export function loadedLocales() {
  return Object.keys(catalog).sort();
}

/**
 * `callback(locale)` after the locale changes (or the translations arrive), for texts drawn once
 * into the DOM. ComfyUI re-creates the nodes itself when Comfy.Locale changes. Returns an unsubscribe.
 */
export function onLocaleChange(callback) {
  listeners.add(callback);
  return () => listeners.delete(callback);
}

function notifyIfChanged(locale, force = false) {
  if (!force && locale === lastLocale) return;
  lastLocale = locale;
  for (const callback of [...listeners]) {
    try {
      callback(locale);
    } catch (error) {
      console.warn("[RunComfy Kling 3.0] locale listener failed:", error);
    }
  }
}

/** Comfy.Locale as ComfyUI's settings store has it (same default as the frontend: the browser's). */
export function comfyLocale(app) {
  const value = app?.extensionManager?.setting?.get?.(LOCALE_SETTING)
    ?? app?.ui?.settings?.getSettingValue?.(LOCALE_SETTING);
  if (typeof value === "string" && value) return value;
  const browser = globalThis.navigator?.language?.split("-")[0];
  return browser || FALLBACK_LOCALE;
}

/** Loads the translations through ComfyUI's /i18n route; English only if that fails. */
export async function loadFromComfy(app, api) {
  try {
    const response = await api.fetchApi(I18N_ROUTE, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${I18N_ROUTE}`);
    setTranslations(await response.json(), () => comfyLocale(app));
  } catch (error) {
    console.warn("[RunComfy Kling 3.0] translations unavailable, texts stay in English:", error);
    localeSource = () => comfyLocale(app);
  }
  app?.ui?.settings?.addEventListener?.(`${LOCALE_SETTING}.change`, () => notifyIfChanged(currentLocale()));
}

// In ComfyUI: load before the nodes are created (extensions' `init` runs before node registration
// and ComfyUI waits for it), so the first drawing of a panel is already in the user's language.
const EXTENSION_NAME = "RunComfy.Kling3.i18n";
const comfy = globalThis.window?.comfyAPI;
if (comfy?.app?.app && comfy?.api?.api && !comfy.app.app.extensions?.some?.((e) => e.name === EXTENSION_NAME)) {
  const app = comfy.app.app;
  const loaded = loadFromComfy(app, comfy.api.api);
  app.registerExtension({
    name: EXTENSION_NAME,
    async init() {
      await loaded;
    },
  });
}
