"""Read a node's outputs by name (its ``RETURN_NAMES``), never by position.

A test that reads ``answer["result"][3]`` silently checks the wrong value when an output is added
or the outputs are reordered; ``outputs(T2V, answer)["frame_count"]`` keeps checking the right one,
and a node that returns more or fewer values than it declares fails here, with both lists shown.
"""
from __future__ import annotations


def output_names(node) -> tuple[str, ...]:
    """The declared output names of a node class or instance (``RETURN_NAMES``)."""
    names = getattr(node, "RETURN_NAMES", None)
    if names is None:
        raise AssertionError(f"{_label(node)} declares no RETURN_NAMES")
    names = tuple(names)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AssertionError(f"{_label(node)} declares the output names {duplicates} more than once")
    return names


def outputs(node, answer) -> dict:
    """``{output name: value}`` of what ``node`` (a class or an instance) returned.

    ``answer`` is the node function's return value: ``{"ui": ..., "result": (...)}`` or a plain
    tuple of values.
    """
    names = output_names(node)
    if isinstance(answer, dict):
        if "result" not in answer:
            raise AssertionError(f"{_label(node)} answered {sorted(answer)} without a 'result'")
        answer = answer["result"]
    values = tuple(answer)
    if len(values) != len(names):
        raise AssertionError(f"{_label(node)} returned {len(values)} values but declares "
                             f"{len(names)} outputs {names}")
    return dict(zip(names, values))


def _label(node) -> str:
    cls = node if isinstance(node, type) else type(node)
    return cls.__name__
