"""Inputs: the Kling 3.0 Pro text-to-video request model, its validation, and its prices."""
