"""The state a run starts from: read and checked before any request, one line per problem.

A state file is written by Meltano or by hand (`--state state.json`); a corrupt, truncated or
mistyped one, or a bookmark from a machine whose clock ran ahead, must stop the run with a
message naming the file and what is wrong, not a parser's traceback, nor a run that quietly
extracts nothing until the bookmark's date comes.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import PurePath

from support_taps.errors import describe_shape
from support_taps.windows import parse_utc


class StateError(ValueError):
    """The state a run was given cannot be used; the message says what to fix."""


def read_state(source: PurePath | str | dict | None) -> dict:
    """The state as a dictionary: `source` itself, or the JSON file it names."""
    if source is None or isinstance(source, dict):
        return dict(source or {})
    try:
        with open(source, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        msg = f"The state file {str(source)!r} cannot be read: {exc.strerror or exc}."
        raise StateError(msg) from None
    return parse_state(text, f"The state file {str(source)!r}")


def parse_state(text: str, source: str = "The state") -> dict:
    """The Singer state in `text` (JSON); `source` names it in errors ("The state file ...")."""
    if not text.strip():
        return {}  # an empty file: a first run, as Meltano starts one
    try:
        state = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            if isinstance(exc, json.JSONDecodeError)
            else " (nested too deeply)"
        )
        raise StateError(f"{source} is not valid JSON{where}.") from None
    problem = state_problem(state)
    if problem:
        raise StateError(f"{source} is not a Singer state: {problem}.")
    return t.cast(dict, state)


def state_problem(state: object) -> str | None:
    """What makes `state` unusable as a Singer state (None: nothing), in shapes, not values."""
    if not isinstance(state, dict):
        return f'expected an object such as {{"bookmarks": {{...}}}}, found {describe_shape(state)}'
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return f"`bookmarks` should be an object of streams, found {describe_shape(bookmarks)}"
    for stream, entry in bookmarks.items():
        if not isinstance(entry, dict):
            return f"the bookmark of `{stream}` should be an object, found {describe_shape(entry)}"
        partitions = entry.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            return (
                f"`partitions` of `{stream}` should be a list of objects, "
                f"found {describe_shape(partitions)}"
            )
        for part in [entry, *partitions]:
            value = part.get("replication_key_value")
            if value is not None and not isinstance(value, (str, int, float)):
                return (
                    f"`replication_key_value` of `{stream}` should be a date-time string, "
                    f"found {describe_shape(value)}"
                )
    return None


def bookmark_problem(state: dict) -> str | None:
    """A bookmark that is not a date-time (every replication key of the collection is one)."""
    for stream, entry in (state.get("bookmarks") or {}).items():
        for part in [entry, *entry.get("partitions", [])]:
            value = part.get("replication_key_value")
            if value in (None, ""):
                continue
            try:
                parse_utc(value)
            except (ValueError, TypeError, OverflowError):
                return f"the bookmark of `{stream}` is not a date-time (found {str(value)[:40]!r})"
    return None
