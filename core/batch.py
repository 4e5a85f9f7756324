"""A prompt list: one prompt per line, checked and priced as a whole before anything is sent.

The 'Kling 3.0 Prompt List' node outputs its prompts as a ComfyUI list, so a connected
text-to-video node runs once per prompt, all at once. Each of those runs checks its own job
against the budgets, but by then the first ones may already be submitted: a batch that does not
fit must be refused before any of it is sent. So the list node checks the count, every prompt's
length and the whole batch's estimate against the spend guard first; the text-to-video node's
own duration and sound are read from the graph (``BatchJob``). Prompts whose job is already in
the journal (same inputs and seed: a re-queued batch) cost nothing and are not counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .errors import InvalidInputError
from .kling.pricing import estimate_usd
from .kling.request import MAX_DURATION_S, MAX_PROMPT_CHARS, MODEL_ID, check_text
from .spend_guard import SpendGuard, read_budgets
from .store.folder import StateFolder
from .store.journal import ATTACHABLE_STATES, fingerprint

#: prompts in one list: each is a paid job; more than this is almost surely a pasted mistake
MAX_PROMPTS = 20
COMMENT = "#"


def parse_prompts(text: object) -> list[str]:
    """One prompt per line; blank lines and lines starting with ``#`` are left out."""
    if not isinstance(text, str):
        raise InvalidInputError("prompts", "must be text, one prompt per line", text)
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(COMMENT)]


def check_prompts(prompts: list[str], negative_prompt: object) -> None:
    """The limits of a list: at least one prompt, at most ``MAX_PROMPTS``, each one short enough."""
    if not prompts:
        raise InvalidInputError("prompts", "must hold at least one prompt (one per line; lines starting "
                                "with # are comments)", "", hint="Nothing was submitted")
    if len(prompts) > MAX_PROMPTS:
        raise InvalidInputError("prompts", f"at most {MAX_PROMPTS} prompts make one batch, this list has "
                                f"{len(prompts)}", len(prompts),
                                hint="Split the list over several runs; nothing was submitted")
    for number, prompt in enumerate(prompts, start=1):
        check_text(f"prompt {number} of the list", prompt, MAX_PROMPT_CHARS, required=True)
    check_text("negative_prompt", negative_prompt, MAX_PROMPT_CHARS, required=False)


@dataclass(frozen=True)
class BatchJob:
    """What one text-to-video node fed by the list will do per prompt. ``duration`` or ``sound``
    is None when it comes from a link (then the dearest case is assumed); ``body`` builds the
    exact request of a prompt when every input is known (to find it in the journal)."""

    duration: int | None
    sound: bool | None
    seed: object = None
    known_body: Mapping | None = None  # the body's fields other than the prompt

    def estimate_usd(self) -> float:
        return estimate_usd(self.duration or MAX_DURATION_S, True if self.sound is None else self.sound)

    def body(self, prompt: str) -> dict | None:
        if self.known_body is None:
            return None
        return {**self.known_body, "prompt": prompt.strip()}


@dataclass(frozen=True)
class BatchEstimate:
    count: int                # prompts in the list
    new_jobs: int             # jobs it would submit (not already in the journal)
    usd: float                # the estimate of those
    jobs_per_prompt: int      # text-to-video nodes fed by the list

    def summary(self) -> str:
        text = f"{self.count} prompt{'s' if self.count != 1 else ''}"
        if self.jobs_per_prompt == 0:
            return text + " \u00b7 no text-to-video node fed by the list"
        text += f" \u00b7 est. ${self.usd:.2f} in all"
        done = self.count * self.jobs_per_prompt - self.new_jobs
        return text + (f" ({done} already generated)" if done else "")


def estimate_batch(prompts: list[str], jobs: list[BatchJob], state: StateFolder | None = None,
                   api_base: str | None = None) -> BatchEstimate:
    """The batch's price by the published table; jobs found in the journal (same body, seed and
    API) cost nothing."""
    usd, new = 0.0, 0
    done = _journalled(state)
    for job in jobs:
        for prompt in prompts:
            body = job.body(prompt)
            if body is not None and done(fingerprint(MODEL_ID, body, job.seed, api_base)):
                continue
            usd, new = usd + job.estimate_usd(), new + 1
    return BatchEstimate(len(prompts), new, round(usd, 4), len(jobs))


def check_budget(batch: BatchEstimate, state: StateFolder, environ: Mapping[str, str] | None = None) -> None:
    """``BudgetExceededError`` when the whole batch would take a period over its budget."""
    if batch.new_jobs == 0:
        return
    guard = SpendGuard(read_budgets(state.database(), environ))
    with state.database().read() as db:
        guard.check(db, batch.usd, batch.new_jobs)


def _journalled(state: StateFolder | None):
    if state is None:
        return lambda key: False
    journal = state.journal()

    def known(key: str) -> bool:
        try:
            entry = journal.read(key)
        except Exception:  # an unreadable record is the text-to-video node's to report
            return False
        return entry is not None and entry.state in ATTACHABLE_STATES

    return known
