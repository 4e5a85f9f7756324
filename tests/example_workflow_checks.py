"""Checks of UI workflows (as ComfyUI's frontend saves them) against the nodes' real definitions,
used by test_example_workflows.py (the shipped examples) and test_workflow_checker.py (the checks
catch broken copies).

These checks need no ComfyUI: our node types come from the pack itself; the few core nodes the
examples use are described below as ComfyUI v0.21 declares them. Each check returns readable
sentences (unknown node, mismatched link, value out of range, shots that do not add up, a machine
path or a token in the file) instead of failing at the first problem.
"""
from __future__ import annotations

import json
import math
import re

from pack_loader import PACK_DIR, load_pack, pack_module

EXAMPLES_DIR = PACK_DIR / "example_workflows"
SINGLE, STORY, ONWARD, WALKTHROUGH = ("kling3_single_shot_with_sound", "kling3_three_shot_story",
                                      "kling3_frames_and_sound_onward", "kling3_offline_sandbox_walkthrough")
BATCH, SHOT = "kling3_prompt_list_batch", "kling3_story_select_shot"
EXAMPLES = (SINGLE, STORY, ONWARD, WALKTHROUGH, BATCH, SHOT)
T2V, PROMPT, SEGMENT = "RunComfyKling3TextToVideo", "RunComfyKling3Prompt", "RunComfyKling3MultiPromptSegment"
PROMPT_LIST = "RunComfyKling3PromptList"

# Core nodes used by the examples, as ComfyUI v0.21.0 declares them (GET /object_info/<type>):
# inputs in declaration order (the order of widget values), outputs as (name, type).
CORE_NODES = {
    "SaveVideo": {
        "required": {"video": ("VIDEO", {}),
                     "filename_prefix": ("STRING", {"default": "video/ComfyUI"}),
                     "format": (["auto", "mp4"], {}),
                     "codec": (["auto", "h264"], {})},
        "outputs": ()},
    "CreateVideo": {
        "required": {"images": ("IMAGE", {}),
                     "fps": ("FLOAT", {"default": 30.0, "min": 1.0, "max": 120.0, "step": 1.0})},
        "optional": {"audio": ("AUDIO", {})},
        "outputs": (("VIDEO", "VIDEO"),)},
    "ImageSharpen": {
        "required": {"image": ("IMAGE", {}),
                     "sharpen_radius": ("INT", {"default": 1, "min": 1, "max": 31, "step": 1}),
                     "sigma": ("FLOAT", {"default": 1.0, "min": 0.1, "max": 10.0, "step": 0.01}),
                     "alpha": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 5.0, "step": 0.01})},
        "outputs": (("IMAGE", "IMAGE"),)},
}
CORE_IMAGE_NODES = {"ImageSharpen"}  # IMAGE in, IMAGE out: where example 3 takes the frames
FRONTEND_ONLY = {"Note", "MarkdownNote"}  # no Python class: a single text widget, never queued
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}

# anything that would tie a file to one machine or leak a credential
PRIVATE_PATTERNS = [re.compile(p) for p in (
    r"/home/", r"/tmp/", r"/Users/", r"/root/", r"(?i)\b[a-z]:\\", r"sandbox-token",
    r"(?i)\bbearer\b", r"RUNCOMFY_(API_)?TOKEN=(?!\.\.\.)\S")]


def node_specs() -> dict:
    """type -> {"required", "optional", "outputs"} for our nodes and the listed core nodes."""
    specs = {name: dict(spec) for name, spec in CORE_NODES.items()}
    for name, cls in load_pack().NODE_CLASS_MAPPINGS.items():
        declared = cls.INPUT_TYPES()
        names = getattr(cls, "RETURN_NAMES", None) or cls.RETURN_TYPES
        specs[name] = {"required": declared.get("required", {}), "optional": declared.get("optional", {}),
                       "outputs": tuple(zip(names, cls.RETURN_TYPES))}
    return specs


def load(name: str) -> dict:
    return json.loads((EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def is_combo(kind) -> bool:
    return isinstance(kind, (list, tuple))


def slot_type(kind) -> str:
    return "COMBO" if is_combo(kind) else kind


def is_widget(kind, options: dict | None = None) -> bool:
    """A widget on the node, unless declared ``forceInput`` (then only a socket)."""
    return (is_combo(kind) or kind in WIDGET_TYPES) and not (options or {}).get("forceInput")


def has_control(name: str, kind, options: dict) -> bool:
    """The frontend adds a 'control after generate' value after such inputs (useIntWidget.ts)."""
    if kind == "INT":
        return bool(options.get("control_after_generate", name in ("seed", "noise_seed")))
    return is_combo(kind) and bool(options.get("control_after_generate", False))


def value_problem(kind, options: dict, value) -> str | None:
    if is_combo(kind):
        return None if value in kind else f"{value!r} is not one of {list(kind)}"
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"{value!r} is not true/false"
    if kind == "STRING":
        return None if isinstance(value, str) else f"{value!r} is not text"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{value!r} is not a number"
    if kind == "INT" and not isinstance(value, int):
        return f"{value!r} is not a whole number"
    low, high, step = options.get("min", -math.inf), options.get("max", math.inf), options.get("step")
    if not low <= value <= high:
        return f"{value!r} is outside {low}..{high}"
    if step and math.isfinite(low):
        steps = (value - low) / step
        if abs(steps - round(steps)) > 1e-6:
            return f"{value!r} is not reachable from {low} in steps of {step}"
    return None


def check_workflow(workflow: dict, specs: dict) -> list[str]:
    """Every way ``workflow`` disagrees with the node definitions, as readable sentences."""
    problems: list[str] = []
    nodes = {node["id"]: node for node in workflow["nodes"]}
    if len(nodes) != len(workflow["nodes"]):
        problems.append("node ids are not unique")
    for node in workflow["nodes"]:
        problems += [f"node {node['id']} ({node['type']}): {p}" for p in node_problems(node, specs)]
    for link in workflow["links"]:
        problems += [f"link {link[0]}: {p}" for p in link_problems(link, nodes, specs)]
    link_ids = {link[0] for link in workflow["links"]}
    for node in workflow["nodes"]:
        used = [s["link"] for s in node["inputs"] if s.get("link") is not None]
        used += [i for s in node["outputs"] for i in (s.get("links") or [])]
        problems += [f"node {node['id']} refers to missing link {i}" for i in used if i not in link_ids]
    if workflow.get("last_node_id", 0) < max(nodes, default=0) or \
            workflow.get("last_link_id", 0) < max(link_ids, default=0):
        problems.append("last_node_id/last_link_id are below the ids in use")
    if not problems:  # the values can be read by name only once they fit the definitions
        for t2v in (n for n in workflow["nodes"] if n["type"] == T2V):
            problems += [f"node {t2v['id']}: {p}" for p in request_problems(workflow, t2v)]
    return problems


def node_problems(node: dict, specs: dict) -> list[str]:
    values = node.get("widgets_values")
    if node["type"] in FRONTEND_ONLY:
        ok = isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)
        return [] if ok else ["a note holds exactly one text value"]
    spec = specs.get(node["type"])
    if spec is None:
        return ["unknown node type (neither ours nor a listed core node)"]
    problems = [] if node.get("mode", 0) == 0 else ["is muted or bypassed"]
    declared = {**spec["required"], **spec.get("optional", {})}
    outputs = [(slot["name"], slot["type"]) for slot in node["outputs"]]
    if outputs != [tuple(o) for o in spec["outputs"]]:
        problems.append(f"outputs {outputs} differ from the declared {list(spec['outputs'])}")
    linked = set()
    for slot in node["inputs"]:
        name = slot["name"]
        if name not in declared:
            problems.append(f"has no input {name!r}")
            continue
        kind, options = declared[name][0], (declared[name][1:] or ({},))[0]
        if slot["type"] != slot_type(kind):
            problems.append(f"input {name!r} is typed {slot['type']} but declared {slot_type(kind)}")
        if ("widget" in slot) != is_widget(kind, options):
            problems.append(f"input {name!r} widget flag does not match its type {slot_type(kind)}")
        if slot.get("link") is not None:
            linked.add(name)
    problems += [f"required input {name!r} is not connected" for name, (kind, opts) in spec["required"].items()
                 if not is_widget(kind, opts) and name not in linked]
    expected = widget_labels(spec)
    if not isinstance(values, list) or len(values) != len(expected):
        return problems + [f"has {len(values or [])} widget values, its inputs need {len(expected)}"]
    for (label, kind, options), value in zip(expected, values):
        problem = value_problem(kind, options, value)
        if problem:
            problems.append(f"{label}: {problem}")
    return problems


def link_problems(link: list, nodes: dict, specs: dict) -> list[str]:
    link_id, source_id, source_slot, target_id, target_slot, link_type = link
    source, target = nodes.get(source_id), nodes.get(target_id)
    if source is None or target is None:
        return ["joins a node that is not in the graph"]
    if {source["type"], target["type"]} & FRONTEND_ONLY:
        return ["joins a note"]
    if source["type"] not in specs or target["type"] not in specs:
        return []  # the unknown node type is reported on its own
    if not (source_slot < len(source["outputs"]) and target_slot < len(target["inputs"])):
        return ["points at a slot that does not exist"]
    output, slot = source["outputs"][source_slot], target["inputs"][target_slot]
    problems = []
    if link_id not in (output.get("links") or []) or slot.get("link") != link_id:
        problems.append("is not recorded on both of its ends")
    declared_outputs = specs[source["type"]]["outputs"]
    target_spec = specs[target["type"]]
    declared_inputs = {**target_spec["required"], **target_spec.get("optional", {})}
    if source_slot >= len(declared_outputs) or slot["name"] not in declared_inputs:
        return problems + ["joins an output or input the node does not declare"]
    out_type, in_type = declared_outputs[source_slot][1], slot_type(declared_inputs[slot["name"]][0])
    if link_type != out_type:
        problems.append(f"is typed {link_type} but its output is {out_type}")
    if out_type != in_type and "*" not in (out_type, in_type):
        problems.append(f"joins {source['type']}.{declared_outputs[source_slot][0]} ({out_type}) "
                        f"to {target['type']}.{slot['name']} ({in_type})")
    return problems


def linked_source(workflow: dict, node: dict, input_name: str):
    """(source node, output name) feeding ``input_name`` of ``node``, or None."""
    slot = next((s for s in node["inputs"] if s["name"] == input_name), None)
    if slot is None or slot.get("link") is None:
        return None
    link = next(link for link in workflow["links"] if link[0] == slot["link"])
    source = next(n for n in workflow["nodes"] if n["id"] == link[1])
    return source, source["outputs"][link[2]]["name"]


def widget_labels(spec: dict) -> list[tuple[str, object, dict]]:
    """(label, kind, options) in the order the frontend writes widget values; the control value
    after a seed is labelled '<input> control_after_generate'."""
    labels = []
    for name, (kind, options) in {**spec["required"], **spec.get("optional", {})}.items():
        if is_widget(kind, options):
            labels.append((name, kind, options))
            if has_control(name, kind, options):
                labels.append((f"{name} control_after_generate", sorted(CONTROL_VALUES), {}))
    return labels


def widget(workflow: dict, node: dict, name: str):
    """The value ``name`` has when the graph runs: the linked widget of a prompt node, else its own."""
    fed = linked_source(workflow, node, name)
    if fed is not None and fed[0]["type"] == PROMPT:
        return widget(workflow, fed[0], fed[1])
    if fed is not None and fed[0]["type"] == PROMPT_LIST:  # a prompt list: its first prompt stands for all
        if fed[1] == "prompt":
            return pack_module("core.batch").parse_prompts(widget(workflow, fed[0], "prompts"))[0]
        return widget(workflow, fed[0], fed[1])
    labels = [label for label, _, _ in widget_labels(node_specs()[node["type"]])]
    return node["widgets_values"][labels.index(name)]


def segment_chain(workflow: dict, t2v: dict) -> list[tuple[str, int]]:
    """The shots in the order the API gets them: the 'previous' chain, upstream first."""
    shots, fed = [], linked_source(workflow, t2v, "multi_prompt")
    while fed is not None:
        segment = fed[0]
        shots.insert(0, (widget(workflow, segment, "prompt"), widget(workflow, segment, "duration")))
        fed = linked_source(workflow, segment, "previous")
    return shots


def request_problems(workflow: dict, t2v: dict) -> list[str]:
    """The pack's own request validation (what would stop a run before anything is paid)."""
    kling = pack_module("core.kling.request")
    errors = pack_module("core.errors")
    values = {name: widget(workflow, t2v, name) for name in
              ("prompt", "negative_prompt", "duration", "aspect_ratio", "cfg_scale", "sound")}
    shots = tuple(kling.Segment(prompt=p, duration=d) for p, d in segment_chain(workflow, t2v))
    try:
        kling.TextToVideoRequest(segments=shots, **values).validate()
    except errors.InvalidInputError as exc:
        return [str(exc)]
    return []


def private_strings(value) -> list[str]:
    """Every string in the workflow (keys too) that looks like a machine path or a credential."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in private_strings(k) + private_strings(v)]
    if isinstance(value, list):
        return [s for item in value for s in private_strings(item)]
    if isinstance(value, str) and any(p.search(value) for p in PRIVATE_PATTERNS):
        return [value[:80]]
    return []


def canonical_graph(workflow: dict) -> tuple:
    """The graph without notes, ids and layout: node types with values, and typed links."""
    nodes = {n["id"]: n for n in workflow["nodes"] if n["type"] not in FRONTEND_ONLY}
    return (sorted(json.dumps([n["type"], n["widgets_values"]]) for n in nodes.values()),
            sorted(json.dumps([nodes[l[1]]["type"], l[2], nodes[l[3]]["type"], nodes[l[3]]["inputs"][l[4]]["name"], l[5]])
                   for l in workflow["links"]))


def only(workflow: dict, node_type: str) -> dict:
    (node,) = [n for n in workflow["nodes"] if n["type"] == node_type]
    return node
