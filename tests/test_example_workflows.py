"""The example workflows in ``example_workflows/``: they fit the nodes' real definitions and show
what they promise.

The files are UI workflows, exactly as ComfyUI's frontend saves them, so a user who opens one gets
a graph that queues without edits. A broken example fails here instead of in a user's ComfyUI
(the checks themselves: example_workflow_checks.py; that they catch broken copies:
test_workflow_checker.py).
"""
from __future__ import annotations

import pytest
from PIL import Image

from example_workflow_checks import (CORE_IMAGE_NODES, EXAMPLES, EXAMPLES_DIR, FRONTEND_ONLY, ONWARD,
                                     PROMPT, SINGLE, STORY, T2V, WALKTHROUGH, canonical_graph,
                                     check_workflow, linked_source, load, node_specs, only,
                                     private_strings, segment_chain, widget)


def test_every_example_has_a_thumbnail_and_nothing_else_is_there():
    files = {p.name for p in EXAMPLES_DIR.iterdir()}
    assert files == {f"{name}.{ext}" for name in EXAMPLES for ext in ("json", "jpg")}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_fits_the_node_definitions(name):
    workflow = load(name)
    assert workflow["version"] == 0.4 and isinstance(workflow["links"], list)
    assert check_workflow(workflow, node_specs()) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_holds_no_machine_path_or_token(name):
    assert private_strings(load(name)) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_does_not_pay_again_when_queued_again(name):
    # "randomize" would give every queued run a new seed, and so a new paid generation
    workflow = load(name)
    for node in (n for n in workflow["nodes"] if n["type"] == T2V):
        assert widget(workflow, node, "seed control_after_generate") == "fixed"


@pytest.mark.parametrize("name", EXAMPLES)
def test_thumbnail_is_a_small_jpeg_of_the_video_shape(name):
    with Image.open(EXAMPLES_DIR / f"{name}.jpg") as image:
        assert image.format == "JPEG" and max(image.size) <= 1024
        width, height = image.size
    assert (EXAMPLES_DIR / f"{name}.jpg").stat().st_size < 200_000
    ratio_w, ratio_h = map(int, widget(load(name), only(load(name), T2V), "aspect_ratio").split(":"))
    assert abs(width / height - ratio_w / ratio_h) < 0.02


def test_single_shot_generates_with_sound_and_saves_the_video():
    workflow = load(SINGLE)
    t2v = only(workflow, T2V)
    assert widget(workflow, t2v, "sound") is True and segment_chain(workflow, t2v) == []
    assert linked_source(workflow, only(workflow, "SaveVideo"), "video") == (t2v, "video")


def test_three_shot_story_chains_three_segments_adding_up_to_the_duration():
    workflow = load(STORY)
    t2v = only(workflow, T2V)
    shots = segment_chain(workflow, t2v)
    assert len(shots) == 3 and sum(d for _, d in shots) == widget(workflow, t2v, "duration")
    assert linked_source(workflow, t2v, "prompt")[0]["type"] == PROMPT
    assert linked_source(workflow, only(workflow, "SaveVideo"), "video") == (t2v, "video")


def test_frames_and_sound_go_through_a_core_image_node_into_create_video():
    workflow = load(ONWARD)
    t2v, create, save = only(workflow, T2V), only(workflow, "CreateVideo"), only(workflow, "SaveVideo")
    image_node, _ = linked_source(workflow, create, "images")
    assert image_node["type"] in CORE_IMAGE_NODES
    assert linked_source(workflow, image_node, "image") == (t2v, "images")
    assert linked_source(workflow, create, "audio") == (t2v, "audio")
    assert linked_source(workflow, create, "fps") == (t2v, "fps")
    assert linked_source(workflow, save, "video") == (create, "VIDEO")


def test_walkthrough_is_the_single_shot_graph_with_a_note_on_the_sandbox():
    walkthrough = load(WALKTHROUGH)
    assert canonical_graph(walkthrough) == canonical_graph(load(SINGLE))
    (note,) = [n for n in walkthrough["nodes"] if n["type"] in FRONTEND_ONLY]
    text = note["widgets_values"][0]
    for needed in ("python -m sandbox", "RUNCOMFY_API_BASE", "RUNCOMFY_API_TOKEN", "no credits", "unset"):
        assert needed in text
