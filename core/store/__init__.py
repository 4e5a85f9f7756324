"""Saved state: atomic files and locks, the journal of paid requests, the result cache, the
saved token and the generation timings, all in the pack's data folder (``StateFolder``)."""
