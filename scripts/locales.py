"""Keeps the English translation files in step with the code they describe.

    python scripts/locales.py           # say which locales/en files differ from the code (exit 1)
    python scripts/locales.py --write   # rewrite locales/en/{nodeDefs,main,settings}.json

ComfyUI (app/custom_node_manager.py) serves locales/<lang>/main.json, nodeDefs.json and
settings.json merged by language on GET /i18n; its frontend translates node names, inputs,
outputs, categories and settings entries from there, and web/js/kling3_i18n.js reads the
"kling3" texts of main.json. The English files are generated: nodeDefs.json from the node classes,
main.json from the web extension's t("kling3...", "English") calls, settings.json from the
settings the extension registers (a setting built by a function keeps the English entry written
here; tests/browser/test_locales.py compares it with what the page registers). ko, zh and ja are
written by hand; tests/test_locales.py checks that they cover exactly what English has.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the script's folder, also when loaded by path; tests/test_locales.py uses these through this module
from locale_sources import (  # noqa: E402,F401
    STRING, WEB_JS, category_literals, extension_texts, js_sources, js_string, setting_ids, settings_entries,
    t_calls)

ROOT = Path(__file__).resolve().parents[1]
LOCALES_DIR = ROOT / "locales"
LANGUAGES = ("en", "ko", "zh", "ja")
FILES = ("main.json", "nodeDefs.json", "settings.json")
NAMESPACE = "kling3"
# ComfyUI's frontend names the widget it adds after an input with control_after_generate so.
CONTROL_AFTER_GENERATE = ("control_after_generate", "control after generate")

# --- the nodes -------------------------------------------------------------------------------


def node_defs(pack) -> dict:
    """nodeDefs.json in English: {node id: {display_name, description, inputs, outputs}}."""
    defs = {}
    for node_id, cls in pack.NODE_CLASS_MAPPINGS.items():
        inputs = {}
        spec = cls.INPUT_TYPES()
        for group in ("required", "optional"):
            for name, (_kind, *rest) in spec.get(group, {}).items():
                options = rest[0] if rest and isinstance(rest[0], dict) else {}
                entry = {"name": name}
                if options.get("tooltip"):
                    entry["tooltip"] = options["tooltip"]
                inputs[name] = entry
                if options.get("control_after_generate"):
                    inputs[CONTROL_AFTER_GENERATE[0]] = {"name": CONTROL_AFTER_GENERATE[1]}
        tooltips = tuple(getattr(cls, "OUTPUT_TOOLTIPS", ()) or ())
        names = tuple(getattr(cls, "RETURN_NAMES", ()) or cls.RETURN_TYPES)
        outputs = {}
        for index, name in enumerate(names):
            entry = {"name": name}
            if index < len(tooltips) and tooltips[index]:
                entry["tooltip"] = tooltips[index]
            outputs[str(index)] = entry
        node = {"display_name": pack.NODE_DISPLAY_NAME_MAPPINGS.get(node_id, node_id)}
        if getattr(cls, "DESCRIPTION", ""):
            node["description"] = cls.DESCRIPTION
        node["inputs"] = inputs
        node["outputs"] = outputs
        defs[node_id] = node
    return defs


def node_categories(pack) -> dict:
    """The parts of the nodes' categories ("RunComfy/Kling 3.0"), as main.json's nodeCategories."""
    parts = {}
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        for part in str(getattr(cls, "CATEGORY", "")).split("/"):
            if part:
                parts[part] = part
    return parts

def i18n_key(text: str) -> str:
    """ComfyUI's normalizeI18nKey: dots become underscores."""
    return text.replace(".", "_")

# --- the English files -----------------------------------------------------------------------


def nest(flat: dict) -> dict:
    tree = {}
    for key, value in sorted(flat.items()):
        node = tree
        *groups, leaf = key.split(".")
        for group in groups:
            node = node.setdefault(group, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key}: a text and a group of texts share a key")
        if isinstance(node.get(leaf), dict):
            raise ValueError(f"{key}: a text and a group of texts share a key")
        node[leaf] = value
    return tree


def english_files(pack, web_js: Path = WEB_JS, current_settings: dict | None = None) -> dict:
    """{file name: content} of locales/en as the code defines it. Settings whose texts are not
    written where they are registered (built by a function) keep their entry in
    locales/en/settings.json (``current_settings``), which the browser test compares with what the
    extension registers; a declared setting without any English entry is left out (and fails the test)."""
    sources = js_sources(web_js)
    settings = settings_entries(sources)
    if current_settings is None:
        path = LOCALES_DIR / "en" / "settings.json"
        current_settings = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for setting_id in sorted(setting_ids(sources) - set(settings)):
        kept = current_settings.get(i18n_key(setting_id))
        if kept:
            settings[setting_id] = dict(kept)
    main = nest(extension_texts(sources))
    main["nodeCategories"] = node_categories(pack)
    # ComfyUI's settings dialog shows a setting's first two category levels (settingsCategories)
    categories = {i18n_key(part): part for entry in settings.values() for part in entry.get("category", [])[:2]}
    for part in category_literals(sources):
        categories.setdefault(i18n_key(part), part)
    if categories:
        main["settingsCategories"] = categories
    settings_json = {i18n_key(setting_id): {k: v for k, v in entry.items() if k != "category"}
                     for setting_id, entry in settings.items()}
    return {"main.json": main, "nodeDefs.json": node_defs(pack), "settings.json": settings_json}


def dump(content: dict) -> str:
    return json.dumps(content, ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite locales/en from the code")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from pack_loader import load_pack  # loads the pack the way ComfyUI does

    differ = []
    for name, content in english_files(load_pack()).items():
        path = LOCALES_DIR / "en" / name
        text = dump(content)
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            differ.append(name)
    for name in differ:
        print(f"locales/en/{name} differs from the code: run python scripts/locales.py --write")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
