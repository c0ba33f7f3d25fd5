"""The shapes Thankful publishes for each endpoint's answer, and the check against them.

An answer of another shape (`TicketsOverTime` as a string, a list item that is not
an object) is an error naming the endpoint, where in the answer, what was expected
and what was found (types and keys, never values), instead of a TypeError deep in
a stream or a row silently missing. Members may be absent or null (`Types: null` is
published); fields Thankful adds are not checked, and land in `raw`. An object with keys but
none of its published members (`{"status": "FAIL", "message": ...}`) is an error envelope,
not an answer; the action names are strings.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import requests

from support_taps.errors import response_place, unexpected_shape


@dataclass(frozen=True)
class Obj:
    """An object; `members` are checked when present and not null."""

    what: str
    members: dict[str, t.Any] = field(default_factory=dict)
    #: Every value is a string (a mapping of ids to names).
    text_values: bool = False
    #: Published keys that are not objects or lists (checked only for being there).
    scalars: tuple[str, ...] = ()


@dataclass(frozen=True)
class Many:
    """A list whose every item has the shape `item`."""

    what: str
    item: Obj


_POINT = Obj("a {Val, CreatedAt} point")
_SERIES = {
    name: Many(f"a list of {{Val, CreatedAt}} points ({name})", _POINT)
    for name in ("Received", "Captured", "Transferred", "Resolved")
}

#: The published answers, by endpoint (the path after the API's base URL).
SHAPES: dict[str, Obj | Many] = {
    "/tickets": Obj(
        "an object with Period, TicketsOverTime, TopActions and Recommendations",
        {
            "Period": Obj("an object {Start, End, Min}"),
            "TicketsOverTime": Obj(
                "an object of series (Received, Captured, Transferred, Resolved: lists of "
                "{Val, CreatedAt}) with their totals and changes",
                _SERIES,
            ),
            "TopActions": Many(
                "a list of action objects {ID, Name, Capture, ...}", Obj("an action object")
            ),
            "Recommendations": Many(
                "a list of {ActionID, Impact} objects", Obj("a {ActionID, Impact} object")
            ),
        },
    ),
    "/handoffs": Many(
        "a list of {ActionID, Types} objects",
        Obj(
            "an {ActionID, Types} object",
            {
                "Types": Many(
                    "a list of {ID, Cause, ActionHandoffCount} objects, or null",
                    Obj("an {ID, Cause, ActionHandoffCount} object"),
                ),
            },
        ),
    ),
    "/savings": Obj("an object {Hours}", scalars=("Hours",)),
    "/actions": Obj("an object mapping action ids to names", text_values=True),
}

_TYPES = {Obj: (dict, "object"), Many: (list, "list")}


def _mismatch(value: t.Any, shape: Obj | Many, path: str) -> tuple[str, str, t.Any] | None:
    kind, _ = _TYPES[type(shape)]
    if not isinstance(value, kind):
        return path, shape.what, value
    if isinstance(shape, Many):
        for index, item in enumerate(value):
            found = _mismatch(item, shape.item, f"{path}[{index}]")
            if found:
                return found
        return None
    published = (*shape.members, *shape.scalars)
    if published and value and not any(name in value for name in published):
        return path, shape.what, value  # an error envelope in a 200, not an answer
    if shape.text_values and not all(isinstance(item, str) for item in value.values()):
        return path, shape.what, value
    for name, member in shape.members.items():
        if value.get(name) is not None:
            found = _mismatch(value[name], member, f"{path}.{name}" if path else name)
            if found:
                return found
    return None


def check_answer(payload: t.Any, endpoint_path: str, response: requests.Response) -> None:
    """Raise an error naming the endpoint of `response` if `payload` is not the shape Thankful
    publishes for it (the path inside the answer, what was expected, the shape found)."""
    shape = SHAPES[endpoint_path]
    found = _mismatch(payload, shape, "")
    if found is None:
        return
    path, expected, value = found
    kind, name = _TYPES[type(shape)]
    if not path and not isinstance(value, kind):
        raise unexpected_shape(
            "Thankful", response, f"a JSON {name}", value, f"The endpoint answers {expected}."
        )
    where = response_place(response, f", `{path}`") if path else response
    raise unexpected_shape("Thankful", where, expected, value)
