"""Thena's requests export as served: Bearer auth, the dates checked as Thena's page states,
the published example on its day, the days' requests as they read at the simulator's clock."""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
from urllib.parse import urlsplit

from support_simulators.framework import (
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
    raw_json_response,
)
from support_simulators.framework.dataset import UTC, midnight, setting_time
from support_simulators.thena.dataset import ThenaDataset
from support_simulators.thena.published import PUBLISHED_DAY, PUBLISHED_EXAMPLE

DEFAULT_API_KEY = "thena-demo-key"


class ThenaSimulator(VendorSimulator):
    name = "thena"
    rate_limit_headers = True
    _DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        requests_per_day: int = 40,
        end_date_inclusive: bool = True,
        now: dt.datetime | None = None,
        variants: bool = False,
        **kwargs: t.Any,
    ) -> None:
        self.api_key = api_key
        self.end_date_inclusive = end_date_inclusive
        self.fixed_now = now
        super().__init__(**kwargs)
        self.dataset = ThenaDataset(
            seed=self.seed, requests_per_day=requests_per_day, variants=variants
        )
        self._encoded: dict[dt.date, bytes] = {}  # JSON of days old enough not to change

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(UTC)

    def routes(self):
        yield "GET", re.compile(r"/v1/requests/exports"), self.export

    def default_account(self, tap_config: t.Mapping[str, t.Any]) -> str:
        """tap-thena names its records by the workspace (or the one its api_url names)."""
        if tap_config.get("workspace"):
            return str(tap_config["workspace"]).strip()
        host = urlsplit(str(tap_config.get("api_url") or "")).hostname or ""
        name, _, domain = host.partition(".")
        return name if domain == "thena.ai" and name else super().default_account(tap_config)

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        end = setting_time(tap_config["end_date"]) if tap_config.get("end_date") else self.now()
        ids = self.dataset.request_ids(setting_time(tap_config["start_date"]), end)
        return {"requests": (("request_id",), {(i,) for i in ids})}

    def authorized(self, request: SimRequest) -> SimResponse | None:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return json_response({"message": "Unauthorized: invalid or missing API key"}, 401)

    def _parse_date(self, value: str | None, name: str) -> dt.date | SimResponse:
        if not value or not self._DATE.match(value):
            return json_response({"message": f"{name} must be a date in YYYY-MM-DD format"}, 400)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return json_response({"message": f"{name} is not a valid date: {value}"}, 400)

    def export(self, request: SimRequest) -> SimResponse:
        start = self._parse_date(request.arg("start_date"), "start_date")
        if isinstance(start, SimResponse):
            return start
        now = self.now()
        end_arg = request.arg("end_date")
        if end_arg is None:
            last = now.date()
        else:
            end = self._parse_date(end_arg, "end_date")
            if isinstance(end, SimResponse):
                return end
            last = end if self.end_date_inclusive else end - dt.timedelta(days=1)
        if last < start:
            return raw_json_response(b"[]")
        parts = []
        if start <= PUBLISHED_DAY <= last:
            parts.append(
                PUBLISHED_EXAMPLE[1:-1].strip()
            )  # the published object, bytes as published
        day = max(start, self.dataset.start)
        while day <= last:
            chunk = self._day_json(day, now)
            if chunk:
                parts.append(chunk)
            day += dt.timedelta(days=1)
        return raw_json_response(b"[" + b",".join(parts) + b"]")

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """`key` is a request_id; `changes` are export fields as they read from now on (e.g.
        {"status": "Closed", "closed_datetime": "01/02/2025 10:00"})."""
        super().record_late_edit(int(key), changes)
        self._encoded.clear()

    def _day_json(self, day: dt.date, now: dt.datetime) -> bytes:
        """The day's requests as they read at `now`: JSON objects joined by commas."""
        chunk = self._encoded.get(day)
        if chunk is None:
            rows = [
                self.dataset.as_of(r.row, now) for r in self.dataset.day(day) if r.created <= now
            ]
            if self.late_edits:
                rows = [{**row, **self.late_edits.get(row["request_id"], {})} for row in rows]
            chunk = ",".join(json.dumps(row) for row in rows).encode()
            # Rows this old no longer change: their bytes are kept.
            if midnight(day) < now - dt.timedelta(days=120):
                self._encoded[day] = chunk
        return chunk
