"""The pack's core: RunComfy client, Kling 3.0 request model, download and decode.

Nothing in this package imports ComfyUI or torch, so it can be used (and tested) on its own.
Data flow, one module each:

    kling_request  (node inputs -> validated JSON body)
    client / job   (body -> submitted request -> finished job with a result URL)
    download       (result URL -> local mp4 file)
    frames / audio (mp4 file -> float32 frames and sound)
"""
