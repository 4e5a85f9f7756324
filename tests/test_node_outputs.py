"""The helper the tests read node outputs with (node_outputs.py) reads them by name and fails
clearly when a node returns other than what it declares."""
from __future__ import annotations

import pytest

from node_outputs import output_names, outputs
from pack_loader import load_pack

T2V = load_pack().NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]
VALUES = ("frames", "sound", 24.0, 72, "clip", "https://files.example/v.mp4", "req-1", "shots")


def test_every_node_names_each_of_its_outputs_once(pack):
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        assert len(output_names(cls)) == len(cls.RETURN_TYPES), cls.__name__


def test_outputs_are_read_by_name_from_an_answer_or_a_plain_tuple():
    by_name = outputs(T2V, {"ui": {}, "result": VALUES})
    assert by_name["frame_count"] == 72 and by_name["request_id"] == "req-1" and by_name["fps"] == 24.0
    assert outputs(T2V(), VALUES) == by_name


@pytest.mark.parametrize("answer", [{"result": VALUES[:-1]}, VALUES + ("extra",)])
def test_a_count_other_than_the_declared_one_fails_naming_both(answer):
    with pytest.raises(AssertionError, match=r"returned \d+ values but declares 8 outputs .*request_id.*shots"):
        outputs(T2V, answer)


def test_an_answer_without_a_result_fails_clearly():
    with pytest.raises(AssertionError, match="without a 'result'"):
        outputs(T2V, {"ui": {}})
