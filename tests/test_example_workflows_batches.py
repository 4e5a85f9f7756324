"""The batch and shot examples show what they promise: a three-prompt list saved as three videos,
and a three-shot story whose shot 2 is picked out and previewed (the general checks of every
example, thumbnails included, are in test_example_workflows.py)."""
from __future__ import annotations

from example_workflow_checks import BATCH, SHOT, T2V, linked_source, load, only, segment_chain, widget
from pack_loader import pack_module

parse_prompts = pack_module("core.batch").parse_prompts


def test_batch_example_feeds_three_prompts_to_one_video_node_and_saves_each():
    workflow = load(BATCH)
    t2v, prompts = only(workflow, T2V), only(workflow, "RunComfyKling3PromptList")
    assert len(parse_prompts(widget(workflow, prompts, "prompts"))) == 3
    assert linked_source(workflow, t2v, "prompt") == (prompts, "prompt")
    assert linked_source(workflow, t2v, "negative_prompt") == (prompts, "negative_prompt")
    assert linked_source(workflow, only(workflow, "SaveVideo"), "video") == (t2v, "video")


def test_shot_example_previews_shot_2_of_a_three_shot_story():
    workflow = load(SHOT)
    t2v, pick = only(workflow, T2V), only(workflow, "RunComfyKling3SelectShot")
    shots = segment_chain(workflow, t2v)
    assert len(shots) == 3 and sum(d for _, d in shots) == widget(workflow, t2v, "duration")
    assert widget(workflow, pick, "shot") == 2
    for name in ("images", "audio", "fps", "shots"):
        assert linked_source(workflow, pick, name) == (t2v, name)
    create = only(workflow, "CreateVideo")
    for name in ("images", "audio", "fps"):
        assert linked_source(workflow, create, name) == (pick, name)
    saved = {linked_source(workflow, node, "video")[0]["type"] for node in workflow["nodes"] if node["type"] == "SaveVideo"}
    assert saved == {T2V, "CreateVideo"}  # the whole story, and shot 2 on its own
