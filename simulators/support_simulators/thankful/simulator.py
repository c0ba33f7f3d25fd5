"""The Thankful Analytics API: routes, `X-API-Key` auth, filters read and checked, answers."""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t

from support_simulators.framework import (
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
    raw_json_response,
)
from support_simulators.framework.dataset import (
    UTC,
    midnight,
    setting_time,
)
from support_simulators.thankful.dataset import (
    CHANNELS,
    ONE_DAY,
    STATUSES,
    Action,
    Filters,
    Summary,
    ThankfulDataset,
)
from support_simulators.thankful.published import PUBLISHED, PUBLISHED_DAY, PUBLISHED_PERIOD

DEFAULT_API_KEY = "thankful-demo-key"

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$")


def _change(current: int, previous: int) -> float:
    return 0.0 if previous == 0 else (current - previous) / previous * 100


def _z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class BadRequest(Exception):
    pass


class ThankfulSimulator(VendorSimulator):
    name = "thankful"
    BASE = "/api/v1"

    def tap_settings(self) -> dict[str, str]:
        return {"api_url": self.url + self.BASE}

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        tickets_per_day: int = 900,
        now: dt.datetime | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.api_key = api_key
        self.fixed_now = now
        super().__init__(**kwargs)
        self.dataset = ThankfulDataset(seed=self.seed, tickets_per_day=tickets_per_day)
        #: Actions deleted since the start (no longer in `/actions`; past days keep them).
        self.deleted_actions: set[int] = set()

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(UTC)

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """`key` is a day ("YYYY-MM-DD"); `changes` {"resolved": n}: n of its pending
        tickets resolved, recorded late."""
        super().record_late_edit(str(key), changes)
        self.dataset.resolve_late(dt.date.fromisoformat(str(key)), int(changes["resolved"]))

    def routes(self):
        for endpoint, handler in (
            ("tickets", self.tickets),
            ("handoffs", self.handoffs),
            ("savings", self.savings),
            ("actions", self.actions),
        ):
            yield "GET", re.compile(rf"{self.BASE}/{endpoint}/?"), self._guarded(handler)

    def authorized(self, request: SimRequest) -> SimResponse | None:
        if request.headers.get("X-API-Key") == self.api_key:
            return None
        return json_response(
            {"error": "Unauthorized", "message": "invalid or missing X-API-Key"}, 401
        )

    @staticmethod
    def _guarded(
        handler: t.Callable[[SimRequest], SimResponse],
    ) -> t.Callable[[SimRequest], SimResponse]:
        def answer(request: SimRequest) -> SimResponse:
            try:
                return handler(request)
            except BadRequest as exc:
                return json_response({"error": "Bad Request", "message": str(exc)}, 400)

        return answer

    # ---- request parsing -------------------------------------------------------------

    def _moment(self, text: str | None, name: str, default: dt.datetime) -> dt.datetime:
        if text is None or text == "":
            return default
        if not _TIME.match(text):
            raise BadRequest(
                f"parameter {name} must be an ISO 8601 UTC date-time, e.g. 2019-05-20T00:00:00Z"
            )
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    @staticmethod
    def _ids(text: str | None, name: str, allowed: t.Container[int]) -> frozenset[int] | None:
        if not text:
            return None
        try:
            values = frozenset(int(part) for part in text.split(","))
        except ValueError:
            raise BadRequest(f"parameter {name} must be a comma separated list of ids") from None
        bad = sorted(v for v in values if v not in allowed)
        if bad:
            raise BadRequest(f"parameter {name} has unknown ids: {bad}")
        return values

    def _query(self, request: SimRequest) -> tuple[dt.datetime, dt.datetime, Filters]:
        now = self.now()
        start = self._moment(request.arg("s"), "s", now - dt.timedelta(days=30))
        end = self._moment(request.arg("e"), "e", now)
        action = request.arg("a")
        if action:
            if not action.isdigit():
                raise BadRequest("parameter a must be one action id")
            action_id: int | None = int(action)
        else:
            action_id = None
        filters = Filters(
            action_id,
            self._ids(request.arg("ss"), "ss", STATUSES),
            self._ids(request.arg("fs"), "fs", CHANNELS),
        )
        return start, end, filters

    def _days(self, start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
        """The whole days the period covers (the API's granularity is the day)."""
        return start.date(), min(end, self.now()).date()

    def _summary(self, request: SimRequest) -> tuple[dt.datetime, dt.datetime, Filters, Summary]:
        start, end, filters = self._query(request)
        first, last = self._days(start, end)
        return start, end, filters, self.dataset.summary(first, last, filters, self.now())

    # ---- endpoints -------------------------------------------------------------------

    def _published(self, request: SimRequest, endpoint: str) -> SimResponse | None:
        """Thankful's own example, for the published day asked alone and unfiltered (and, for
        `/tickets`, the period its `Period` names)."""
        start, end, filters = self._query(request)
        if filters != Filters():
            return None
        body = PUBLISHED[endpoint]
        if endpoint == "tickets" and (_z(start), _z(end)) == PUBLISHED_PERIOD:
            return raw_json_response(body)
        if start.date() == end.date() == PUBLISHED_DAY:
            if endpoint == "tickets":  # the period echoed is the one asked
                body = body.replace(
                    b'"End": "%s"' % PUBLISHED_PERIOD[1].encode(), b'"End": "%s"' % _z(end).encode()
                )
            return raw_json_response(body)
        return None

    def tickets(self, request: SimRequest) -> SimResponse:
        published = self._published(request, "tickets")
        if published:
            return published
        start, end, filters = self._query(request)
        first, last = self._days(start, end)
        now = self.now()
        series: dict[str, list[dict[str, t.Any]]] = {
            "Received": [],
            "Captured": [],
            "Transferred": [],
            "Resolved": [],
        }
        total = Summary()
        day = first
        while day <= last:
            one = self.dataset.day_summary(day, filters, now)
            for key, value in (
                ("Received", one.received),
                ("Captured", one.captured),
                ("Transferred", one.transferred),
                ("Resolved", one.resolved),
            ):
                series[key].append({"Val": value, "CreatedAt": _z(midnight(day))})
            total.add(one)
            day += ONE_DAY
        # Percent changes compare with the period of the same length just before.
        length = (last - first) + ONE_DAY if last >= first else ONE_DAY
        previous = self.dataset.summary(first - length, first - ONE_DAY, filters, now)
        payload = {
            "Period": {
                "Start": _z(start),
                "End": _z(end),
                "Min": _z(midnight(self.dataset.start)),
            },
            "TicketsOverTime": {
                **series,
                "ReceivedTotal": total.received,
                "CapturedTotal": total.captured,
                "TransferredTotal": total.transferred,
                "ResolvedTotal": total.resolved,
                "ReceivedChange": _change(total.received, previous.received),
                "CapturedChange": _change(total.captured, previous.captured),
                "TransferredChange": _change(total.transferred, previous.transferred),
                "ResolvedChange": _change(total.resolved, previous.resolved),
            },
            "TopActions": self.dataset.top_actions(total),
            "Recommendations": self.dataset.recommendations(total),
        }
        return json_response(payload)

    def handoffs(self, request: SimRequest) -> SimResponse:
        published = self._published(request, "handoffs")
        if published:
            return published
        *_, summary = self._summary(request)
        return json_response(self.dataset.handoffs(summary))

    def savings(self, request: SimRequest) -> SimResponse:
        published = self._published(request, "savings")
        if published:
            return published
        *_, summary = self._summary(request)
        return json_response({"Hours": round(summary.hours, 2)})

    def actions(self, request: SimRequest) -> SimResponse:
        return json_response({str(a.id): a.name for a in self.listed_actions()})

    def listed_actions(self) -> list[Action]:
        return [a for a in self.dataset.actions if a.id not in self.deleted_actions]

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an action in "Thankful" (`kind` "actions"): from now on `/actions` does not
        list it; the days already counted keep it. KeyError if there is no such action."""
        action = int(object_id) if kind == "actions" else None
        if action not in self.dataset.by_id or action in self.deleted_actions:
            raise KeyError(f"{kind}/{object_id}")
        self.deleted_actions.add(action)

    # ---- what a tap must deliver -------------------------------------------------------

    def day_summary(
        self, day: dt.date, tap_config: t.Mapping[str, t.Any], action: int | None
    ) -> Summary:
        filters = Filters(
            action,
            frozenset(tap_config["statuses"]) if tap_config.get("statuses") else None,
            frozenset(tap_config["channels"]) if tap_config.get("channels") else None,
        )
        return self.dataset.day_summary(day, filters, self.now())

    def expected_days(self, tap_config: t.Mapping[str, t.Any]) -> list[dt.date]:
        """UTC days a full run covers: every day that starts before end_date (or now)."""

        now = self.now()
        end = min(setting_time(tap_config["end_date"]), now) if tap_config.get("end_date") else now
        day = setting_time(tap_config["start_date"]).date()
        days = []
        while midnight(day) < end:
            days.append(day)
            day += ONE_DAY
        return days

    @staticmethod
    def _published_keys(head: tuple, keys: dict[str, set[tuple]]) -> None:
        tickets = json.loads(PUBLISHED["tickets"])
        for stream in ("tickets_over_time", "ticket_totals", "savings"):
            keys[stream].add(head)
        keys["top_actions"].update((*head, row["ID"]) for row in tickets["TopActions"])
        keys["recommendations"].update(
            (*head, row["ActionID"]) for row in tickets["Recommendations"]
        )
        for row in json.loads(PUBLISHED["handoffs"]):
            keys["handoffs"].update(
                (*head, row["ActionID"], kind["ID"]) for kind in row["Types"] or []
            )

    @staticmethod
    def filter_key(ids: t.Iterable[int] | None) -> str:
        """How tap-thankful records a status or channel filter in its key: "1,2,5", or "all"."""
        chosen = sorted(set(ids or ()))
        return ",".join(map(str, chosen)) if chosen else "all"

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        action_ids = list(tap_config.get("action_ids") or [])
        scopes: list[int | None] = action_ids or [None]
        lead = ("day", "filter_action_id") if action_ids else ("day",)
        lead = (*lead, "filter_statuses", "filter_channels")
        filters = (
            self.filter_key(tap_config.get("statuses")),
            self.filter_key(tap_config.get("channels")),
        )
        keys: dict[str, set[tuple]] = {
            s: set()
            for s in (
                "tickets_over_time",
                "ticket_totals",
                "top_actions",
                "recommendations",
                "handoffs",
                "savings",
            )
        }
        unfiltered = not (action_ids or tap_config.get("statuses") or tap_config.get("channels"))
        for day in self.expected_days(tap_config):
            stamp = day.isoformat()
            if day == PUBLISHED_DAY and unfiltered:
                self._published_keys((stamp, *filters), keys)
                continue
            for scope in scopes:
                head = (stamp, scope, *filters) if action_ids else (stamp, *filters)
                summary = self.day_summary(day, tap_config, scope)
                for stream in ("tickets_over_time", "ticket_totals", "savings"):
                    keys[stream].add(head)
                keys["top_actions"].update(
                    (*head, row["ID"]) for row in self.dataset.top_actions(summary)
                )
                keys["recommendations"].update(
                    (*head, row["ActionID"]) for row in self.dataset.recommendations(summary)
                )
                for row in self.dataset.handoffs(summary):
                    keys["handoffs"].update(
                        (*head, row["ActionID"], kind["ID"]) for kind in row["Types"] or []
                    )
        return {
            "actions": (("action_id",), {(a.id,) for a in self.listed_actions()}),
            "tickets_over_time": (lead, keys["tickets_over_time"]),
            "ticket_totals": (lead, keys["ticket_totals"]),
            "top_actions": ((*lead, "action_id"), keys["top_actions"]),
            "recommendations": ((*lead, "action_id"), keys["recommendations"]),
            "handoffs": ((*lead, "action_id", "cause_id"), keys["handoffs"]),
            "savings": (lead, keys["savings"]),
        }
