"""File and frames: the download of the result, probing, memory planning, and decoding into
float32 frames and sound."""
