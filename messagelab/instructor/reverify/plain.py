"""Answers as plain data: encoded in the student's kernel, decoded in the grader.

A plain tree is JSON: null, true/false, numbers and strings stand for themselves;
``{"list": [...]}``, ``{"tuple": [...]}`` and ``{"dict": [[key, value], ...]}`` for
containers of exactly those built-in types; ``{"unplain": "why"}`` for anything else, which
fails its check. Student code can lie about the values it hands over, which is no better
than handing in those values: the checks run on them elsewhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

#: Limits on one answer's plain tree: containers nested deeper, or more values, fail.
MAX_DEPTH = 32
MAX_VALUES = 100_000

#: Characters of snapshot output kept per test cell; a larger answer fails its check.
MAX_SNAPSHOT_CHARS = 4 * 2**20



class NotPlain(Exception):
    """An answer that is not plain data (or a snapshot that cannot be read)."""


def encode(value: Any, name: str = "value") -> Any:
    """``value`` as a plain tree, read through the built-in types' own methods.

    Scalars go through :func:`messagelab.grading.plain`, so a float subclass lying in
    ``__float__`` is read for its real value and an object with a doctored ``__eq__``
    becomes an ``unplain`` marker. Containers must be exactly ``list``, ``tuple`` or
    ``dict``.
    """
    from messagelab.grading.answers import plain

    count = [0]

    def tree(x: Any, path: str, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_VALUES or depth > MAX_DEPTH:
            raise NotPlain(f"{name} is too large or nested too deeply to check")
        kind = type(x)
        if kind is list or kind is tuple:
            return {kind.__name__: [tree(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(x)]}
        if kind is dict:
            return {
                "dict": [
                    [tree(key, f"{path} key", depth + 1), tree(item, f"{path}[{key!r}]", depth + 1)]
                    for key, item in dict.items(x)
                ]
            }
        try:
            return plain(path, x)
        except AssertionError as error:
            raise NotPlain(str(error)) from None

    try:
        return tree(value, name, 0)
    except NotPlain as error:
        return {"unplain": str(error)}
    except Exception as error:  # a broken object: it fails its check, it does not stop grading
        return {"unplain": f"{name} could not be read ({type(error).__name__})"}


def decode(tree: Any) -> Any:
    """The Python value of a plain tree; :class:`NotPlain` for a marker or a malformed tree."""

    def value(node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 1:
            raise NotPlain("nested too deeply")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is dict and len(node) == 1:
            ((tag, body),) = node.items()
            if tag in ("list", "tuple") and type(body) is list:
                items = [value(item, depth + 1) for item in body]
                return items if tag == "list" else tuple(items)
            if tag == "dict" and type(body) is list:
                result = {}
                for pair in body:
                    if type(pair) is not list or len(pair) != 2:
                        raise NotPlain("malformed dict")
                    key = value(pair[0], depth + 1)
                    try:
                        result[key] = value(pair[1], depth + 1)
                    except TypeError:
                        raise NotPlain("a dict key is not hashable") from None
                return result
            if tag == "unplain":
                raise NotPlain(str(body))
        raise NotPlain("malformed snapshot")

    return value(tree, 0)


def _reject_constant(name: str) -> None:
    raise NotPlain(f"{name} is not a finite number")


def parse_snapshot(text: str) -> dict[str, Any]:
    """A snapshot line's JSON: ``{"grade_id": …, "values": {name: tree or {"missing": true}}}``."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:  # nested deeper than the parser's stack: a bomb, not an answer
        raise NotPlain("the snapshot is nested too deeply") from None
    if type(data) is not dict or type(data.get("values")) is not dict:
        raise NotPlain("malformed snapshot")
    return data


def snapshot(namespace: Mapping[str, Any], nonce: str, grade_id: str, names: Sequence[str]) -> None:
    """Print the plain trees of ``names`` from a kernel's namespace (the snapshot cell's body)."""
    values: dict[str, Any] = {}
    for name in names:
        if name not in namespace:
            values[name] = {"missing": True}
        else:
            values[name] = encode(namespace[name], name)
    try:
        text = json.dumps({"grade_id": grade_id, "values": values}, allow_nan=False)
    except (ValueError, TypeError) as error:
        text = json.dumps({"grade_id": grade_id, "values": {n: {"unplain": str(error)} for n in names}})
    sys.stdout.write(f"\n{nonce}{text}\n")
    sys.stdout.flush()


def snapshot_source(nonce: str, grade_id: str, names: Sequence[str]) -> str:
    """The code that prints a test cell's snapshot in the student's kernel.

    It binds no name, so it changes nothing the student's later cells see.
    """
    return (
        f"__import__('messagelab.instructor.reverify.plain', fromlist=['snapshot']).snapshot("
        f"globals(), {nonce!r}, {grade_id!r}, {list(names)!r})"
    )
