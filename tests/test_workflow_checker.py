"""The workflow checks catch what they are for: every kind of broken copy of an example, and
every machine path or credential, is reported (the checks: example_workflow_checks.py)."""
from __future__ import annotations

import copy

import pytest

from example_workflow_checks import (ONWARD, SINGLE, STORY, T2V, WALKTHROUGH, check_workflow, load,
                                     node_specs, only, private_strings, widget_labels)


def output_slot(node: dict, name: str) -> dict:
    """The output slot called ``name`` of a workflow node."""
    (slot,) = [s for s in node["outputs"] if s["name"] == name]
    return slot


def output_index(node: dict, name: str) -> int:
    """The position of output ``name`` of a workflow node (what a link records)."""
    return [s["name"] for s in node["outputs"]].index(name)


def input_slot(node: dict, name: str) -> dict:
    """The input slot called ``name`` of a workflow node."""
    (slot,) = [s for s in node["inputs"] if s["name"] == name]
    return slot


def link_into(workflow: dict, node: dict, input_name: str) -> list:
    """The link feeding input ``input_name`` of ``node``."""
    link_id = input_slot(node, input_name)["link"]
    return next(link for link in workflow["links"] if link[0] == link_id)


def set_widget(workflow: dict, node_type: str, name: str, value) -> None:
    """Set widget ``name`` of the one ``node_type`` node, found by its label (see widget_labels)."""
    node = only(workflow, node_type)
    labels = [label for label, _, _ in widget_labels(node_specs()[node_type])]
    node["widgets_values"][labels.index(name)] = value


def _break(name, change):
    workflow = copy.deepcopy(load(name))
    change(workflow)
    return workflow


def _images_into_save(workflow):
    """Join the frames (IMAGE) to SaveVideo's VIDEO input instead of the video."""
    t2v = only(workflow, T2V)
    link = link_into(workflow, only(workflow, "SaveVideo"), "video")
    link[2], link[5] = output_index(t2v, "images"), "IMAGE"
    output_slot(t2v, "images")["links"] = [link[0]]
    output_slot(t2v, "video")["links"] = None


def _unconnect_save(workflow):
    input_slot(only(workflow, "SaveVideo"), "video")["link"] = None
    output_slot(only(workflow, T2V), "video")["links"] = None
    workflow["links"].clear()


def _drop_control_value(workflow):
    only(workflow, T2V)["widgets_values"].remove("fixed")


BROKEN = {
    "unknown node type": (SINGLE, lambda w: only(w, "SaveVideo").update(type="SaveVideoTypo"), "unknown node type"),
    "IMAGE into VIDEO": (SINGLE, _images_into_save, "(IMAGE) to SaveVideo.video (VIDEO)"),
    "duration above max": (SINGLE, lambda w: set_widget(w, T2V, "duration", 16), "duration: 16 is outside"),
    "unknown aspect ratio": (SINGLE, lambda w: set_widget(w, T2V, "aspect_ratio", "4:3"), "is not one of"),
    "cfg off the step": (SINGLE, lambda w: set_widget(w, T2V, "cfg_scale", 0.505), "not reachable"),
    "sound as text": (SINGLE, lambda w: set_widget(w, T2V, "sound", "true"), "not true/false"),
    "missing control value": (SINGLE, _drop_control_value, "widget values"),
    "unconnected save": (SINGLE, _unconnect_save, "required input 'video' is not connected"),
    "shots do not add up": (STORY, lambda w: set_widget(w, T2V, "duration", 10), "must add up"),
    "stale outputs": (ONWARD, lambda w: only(w, T2V)["outputs"].pop(), "differ from the declared"),
    "sharpen radius zero": (ONWARD, lambda w: set_widget(w, "ImageSharpen", "sharpen_radius", 0), "outside 1..31"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_checks_catch_a_broken_copy(case):
    name, change, expected = BROKEN[case]
    problems = check_workflow(_break(name, change), node_specs())
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("text", ["/home/ana/ComfyUI/output", "C:\\Users\\ana\\ComfyUI", "/tmp/x.mp4",
                                  "sandbox-token", "Authorization: Bearer abc",
                                  "export RUNCOMFY_API_TOKEN=rk-12345"])
def test_the_checks_catch_a_path_or_token(text):
    workflow = _break(WALKTHROUGH, lambda w: set_widget(w, T2V, "negative_prompt", text))
    assert private_strings(workflow) == [text]
