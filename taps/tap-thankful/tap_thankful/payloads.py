"""The shapes Thankful publishes for each endpoint's answer, and the check against them.

An answer of another shape (`TicketsOverTime` as a string, a list item that is not
an object) is an error naming the endpoint, where in the answer, what was expected
and what was found (types and keys, never values), instead of a TypeError deep in
a stream or a row silently missing. Fields Thankful adds are not checked, and land in
`raw`.

An answer without the members Thankful publishes for the endpoint (`{}`, or an error
object `{"error": ..., "message": ...}` sent with HTTP 200) is an error too: read as the
day's figures it would store a row of nulls, bookmark past it, and overwrite good rows on a
later lookback. Which members must be there (`Obj.required`): all that the published
examples show, a list member may be null (the published `"Types": null` shows Thankful
sends an empty list as null rather than leaving it out). Such an answer is not retried:
transport faults (5xx, 429, a body cut short) are, but this is the server's finished answer,
and asking every day of a backfill again would repeat a lasting fault (a rejected
parameter, a plan without API access) `max_retries` times per day; the run stops at that
day, naming it, and the next run starts there.

`/tickets` echoes the period it summarised (`Period.Start`, `Period.End`, in the form of the
`s` and `e` parameters: the published example answers `s=2019-05-22T00:00:00Z`,
`e=2019-06-21T23:59:59Z`). An answer for another period than the one asked (an API that
ignores `s`/`e` answers its default, the last 30 days) is an error naming the endpoint,
never 30 days of totals stored as one day.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests

from support_taps.errors import (
    UnexpectedShape,
    body_snippet,
    endpoint_of,
    response_place,
    unexpected_shape,
)
from support_taps.normalize import to_integer


@dataclass(frozen=True)
class Obj:
    """An object; `members` are checked when present and not null; `required` members must
    be present (null only where `nullable` says so)."""

    what: str
    members: dict[str, t.Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Many:
    """A list whose every item has the shape `item`."""

    what: str
    item: Obj


_POINT = Obj("a {Val, CreatedAt} point")
_SERIES_NAMES = ("Received", "Captured", "Transferred", "Resolved")
_SERIES = {
    name: Many(f"a list of {{Val, CreatedAt}} points ({name})", _POINT) for name in _SERIES_NAMES
}
_TOTALS = tuple(f"{name}Total" for name in _SERIES_NAMES)

#: The published answers, by endpoint (the path after the API's base URL).
SHAPES: dict[str, Obj | Many] = {
    "/tickets": Obj(
        "an object with Period, TicketsOverTime, TopActions and Recommendations",
        {
            "Period": Obj("an object {Start, End, Min}", required=("Start", "End")),
            "TicketsOverTime": Obj(
                "an object of series (Received, Captured, Transferred, Resolved: lists of "
                "{Val, CreatedAt}) with their totals and changes",
                _SERIES,
                required=(*_SERIES_NAMES, *_TOTALS),
                nullable=_SERIES_NAMES,
            ),
            "TopActions": Many(
                "a list of action objects {ID, Name, Capture, ...}", Obj("an action object")
            ),
            "Recommendations": Many(
                "a list of {ActionID, Impact} objects", Obj("a {ActionID, Impact} object")
            ),
        },
        required=("Period", "TicketsOverTime", "TopActions", "Recommendations"),
        nullable=("TopActions", "Recommendations"),
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
    "/savings": Obj("an object {Hours}", required=("Hours",)),
    "/actions": Obj("an object mapping action ids to names"),
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
    for name, member in shape.members.items():
        if value.get(name) is not None:
            found = _mismatch(value[name], member, f"{path}.{name}" if path else name)
            if found:
                return found
    return None


def _missing(value: t.Any, shape: Obj | Many, path: str) -> tuple[str, Obj, dict, list[str]] | None:
    """The first object (by path) lacking a required member, with the members it lacks."""
    if isinstance(shape, Many):
        for index, item in enumerate(value):
            found = _missing(item, shape.item, f"{path}[{index}]")
            if found:
                return found
        return None
    lacking = [
        name
        for name in shape.required
        if name not in value or (value[name] is None and name not in shape.nullable)
    ]
    if lacking:
        return path, shape, value, lacking
    for name, member in shape.members.items():
        if value.get(name) is not None:
            found = _missing(value[name], member, f"{path}.{name}" if path else name)
            if found:
                return found
    return None


#: Members of a JSON error object (compared in lower case); none is a member Thankful publishes.
_ERROR_MEMBERS = ("error", "errors")


def check_answer(payload: t.Any, endpoint_path: str, response: requests.Response) -> None:
    """Raise an error naming the endpoint of `response` if `payload` is not the answer Thankful
    publishes for it: an error object, another shape (the path inside the answer, what was
    expected, the shape found), required members missing, or (`/tickets`) another period than
    the one asked."""
    shape = SHAPES[endpoint_path]
    if isinstance(payload, dict) and any(str(k).lower() in _ERROR_MEMBERS for k in payload):
        raise UnexpectedShape(
            f"Thankful answered {response_place(response)}{_asked(response)} with an error "
            f"instead of the data: {body_snippet(response.content)}. Nothing of it was stored."
        )
    found = _mismatch(payload, shape, "")
    if found is not None:
        path, expected, value = found
        if not path:
            _, name = _TYPES[type(shape)]
            raise unexpected_shape(
                "Thankful", response, f"a JSON {name}", value, f"The endpoint answers {expected}."
            )
        raise unexpected_shape("Thankful", response_place(response, f", `{path}`"), expected, value)
    absent = _missing(payload, shape, "")
    if absent is not None:
        path, where, value, lacking = absent
        inside = f", `{path}`" if path else ""
        raise unexpected_shape(
            "Thankful",
            response_place(response, f"{inside}{_asked(response)}"),
            where.what,
            value,
            f"Missing: {', '.join(lacking)}. Nothing of it was stored.",
        )
    if endpoint_path == "/tickets":
        check_period(payload["Period"], response)
    if endpoint_path == "/actions" and payload and all(to_integer(k) is None for k in payload):
        # Not one action id: not the action list (a `{"message": ...}` of another kind).
        raise UnexpectedShape(
            f"Thankful answered {response_place(response)} with something other than the action "
            f"list (an object mapping action ids to names): {body_snippet(response.content)}."
        )


def _asked(response: requests.Response) -> str:
    """ " for s..e": the period the request asked for, when it named one."""
    start, end = asked_period(response)
    return f" for {start}..{end}" if start and end else ""


def asked_period(response: requests.Response) -> tuple[str | None, str | None]:
    """The `s` and `e` the request asked for (the first request, if it was redirected)."""
    first = response.history[0] if response.history else response
    query = parse_qs(urlsplit(first.request.url or "").query) if first.request else {}
    start, end = query.get("s"), query.get("e")
    return (start[0] if start else None), (end[0] if end else None)


def _instant(text: t.Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    # `e` is sent to the second (23:59:59); an echo with fractions of it is the same period.
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0)


def check_period(period: dict, response: requests.Response) -> None:
    """`Period.Start` and `Period.End` must be the `s` and `e` asked (as instants)."""
    start, end = asked_period(response)
    if start is None or end is None:
        return  # asked without a period (not what the tap does): nothing to compare
    echoed = (_instant(period.get("Start")), _instant(period.get("End")))
    if echoed == (_instant(start), _instant(end)):
        return
    shown = "..".join(
        moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "(unreadable)" for moment in echoed
    )
    raise UnexpectedShape(
        f"Thankful answered {endpoint_of(response)} for {start}..{end} with the figures of "
        f"another period (Period {shown}): the API did not apply `s` and `e`. Nothing of it was "
        "stored: its totals are not those of the day asked."
    )
