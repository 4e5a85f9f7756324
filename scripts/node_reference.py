"""Renders the README's node reference from the nodes' own definitions.

    python scripts/node_reference.py           # print the tables
    python scripts/node_reference.py --write   # replace them in README.md

tests/test_readme.py fails when README.md and the nodes disagree.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- node-reference:begin -->", "<!-- node-reference:end -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _range(kind, options: dict) -> str:
    if isinstance(kind, list):
        return ", ".join(f"`{choice}`" for choice in kind)
    parts = []
    if "min" in options or "max" in options:
        parts.append(f"{options.get('min', '')}..{options.get('max', '')}")
    if options.get("step") not in (None, 1):
        parts.append(f"step {options['step']}")
    if options.get("multiline"):
        parts.append("multiline")
    if options.get("control_after_generate"):
        parts.append("control after generate")
    return ", ".join(parts)


def render(pack) -> str:
    lines = []
    for node_id, cls in pack.NODE_CLASS_MAPPINGS.items():
        lines += [f"### {pack.NODE_DISPLAY_NAME_MAPPINGS[node_id]} · `{node_id}`", "", _cell(cls.DESCRIPTION), "",
                  "| input | type | default | range | what it does |", "|---|---|---|---|---|"]
        spec = cls.INPUT_TYPES()
        for group in ("required", "optional"):
            for name, (kind, *rest) in spec.get(group, {}).items():
                options = rest[0] if rest else {}
                type_name = "COMBO" if isinstance(kind, list) else kind
                default = options.get("default", "") if group == "required" else "(optional)"
                default = "" if default == "" else f"`{default}`" if default != "(optional)" else default
                lines.append(f"| `{name}` | {type_name} | {default} | {_cell(_range(kind, options))} | "
                             f"{_cell(options.get('tooltip', ''))} |")
        lines += ["", "| output | type | what it is |", "|---|---|---|"]
        tips = getattr(cls, "OUTPUT_TOOLTIPS", ("",) * len(cls.RETURN_TYPES))
        for name, kind, tip in zip(cls.RETURN_NAMES, cls.RETURN_TYPES, tips):
            lines.append(f"| `{name}` | {kind} | {_cell(tip)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def replace_in(readme: str, tables: str) -> str:
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{tables}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from pack_loader import load_pack  # loads the pack the way ComfyUI does

    tables = render(load_pack())
    if args.write:
        readme = ROOT / "README.md"
        readme.write_text(replace_in(readme.read_text(encoding="utf-8"), tables), encoding="utf-8")
    else:
        print(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
