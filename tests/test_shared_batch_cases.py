"""The browser and the server read a prompt list and the "Jobs at once" setting by one rule: the
cases in web/tests/prompt_list_cases.json and web/tests/max_parallel_cases.json are checked here
against core/batch.py and core/slots.py, and by web/tests/kling3_prompt_list.test.mjs and
kling3_budget_settings.test.mjs against the extension (the live count on the Prompt List node and
the settings entry's check)."""
from __future__ import annotations

import json

import pytest

from pack_loader import PACK_DIR, pack_module

batch = pack_module("core.batch")
errors = pack_module("core.errors")
request = pack_module("core.kling.request")
slots = pack_module("core.slots")

PROMPT_LIST = json.loads((PACK_DIR / "web" / "tests" / "prompt_list_cases.json").read_text(encoding="utf-8"))
MAX_PARALLEL = json.loads((PACK_DIR / "web" / "tests" / "max_parallel_cases.json").read_text(encoding="utf-8"))


def case_text(case: dict) -> str:
    return case["text"] if "text" in case else "".join(piece * times for piece, times in case["text_parts"])


def problem_words(problem) -> str | None:
    if problem is None:
        return None
    if problem == "empty":
        return "at least one prompt"
    if problem == "too_many":
        return f"at most {batch.MAX_PROMPTS} prompts"
    return f"prompt {problem['too_long']} of the list: must be at most"


def test_the_limits_in_the_case_file_are_the_servers():
    assert PROMPT_LIST["max_prompts"] == batch.MAX_PROMPTS
    assert PROMPT_LIST["max_prompt_chars"] == request.MAX_PROMPT_CHARS
    assert MAX_PARALLEL["default"] == slots.DEFAULT_MAX_PARALLEL
    assert tuple(MAX_PARALLEL["range"]) == slots.LIMIT_RANGE


@pytest.mark.parametrize("case", PROMPT_LIST["cases"], ids=lambda case: case["name"])
def test_prompt_list_case(case):
    prompts = batch.parse_prompts(case_text(case))
    if "prompts" in case:
        assert prompts == case["prompts"]
    assert len(prompts) == case.get("count", len(case.get("prompts", prompts)))
    words = problem_words(case["problem"])
    if words is None:
        batch.check_prompts(prompts, "")
    else:
        with pytest.raises(errors.InvalidInputError) as raised:
            batch.check_prompts(prompts, "")
        assert words in str(raised.value)


@pytest.mark.parametrize("case", MAX_PARALLEL["cases"], ids=lambda case: repr(case["text"]))
def test_max_parallel_case(case):
    if case["jobs"] == "error":
        with pytest.raises(errors.ConfigurationError, match="whole number of jobs"):
            slots.parse_limit(case["text"], "max_parallel")
    else:
        assert slots.parse_limit(case["text"], "max_parallel") == case["jobs"]
