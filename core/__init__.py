"""The pack's core: nothing in this package imports ComfyUI or torch.

Grouped by stage, in the order a generation goes through them; ``pipeline`` runs them all:

    kling/     inputs: node inputs -> validated request body; prices
    api/       request and job: settings, sessions and retries, client, request handle
    store/     saved state: journal, result cache, token, timings (one data folder)
    media/     file and frames: download, probe, memory plan, decode frames and sound
    submit_once   never pay twice: the journal's state machine around the submit
    pipeline      validate -> pre-submit checks -> submit or reuse -> wait -> download -> decode

At the bottom, shared by all: ``errors``, ``status`` (phases and progress), ``stopping`` (the
job's stop callback) and ``redaction``.
"""
