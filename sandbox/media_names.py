"""Names of the crafted result files (``settings.media``); made by sandbox/crafted_media.py."""

#: name -> what the file claims
CRAFTED_MEDIA_DESCRIPTIONS = {
    "audio_starts_3h": "2 s of video; its audio stream starts 3 hours in",
    "audio_starts_24h": "2 s of video; its audio stream starts 24 hours in",
    "fps_1_per_3600": "3 frames, one per hour: the header says 1/3600 fps (a 3 hour video)",
    "frames_10h_apart": "3 frames at 24 fps timestamps 0, 10 h and 20 h",
    "duration_huge": "a 1 s clip whose headers claim a duration of about 136 years",
    "duration_zero": "a 1 s clip whose headers claim a duration of 0",
}
CRAFTED_MEDIA = tuple(CRAFTED_MEDIA_DESCRIPTIONS)
