"""The Dixa simulator: the Analytics API, the Exports API and the main API's lists, on one port."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
import zoneinfo

from support_simulators.dixa import expected
from support_simulators.dixa.analytics import (
    BadRequest,
    DataQuery,
    aggregate,
    filter_attributes,
    instant,
    parse_query,
    select,
)
from support_simulators.dixa.catalogue import METRICS, RECORDS, metric_entry, record_entry
from support_simulators.dixa.dataset import AGENTS, QUEUES, TAGS, DixaDataset, SimRecord
from support_simulators.dixa.exports import DixaExports, ExportQueryError
from support_simulators.dixa.lists import LISTS, PAGED_LISTS, Directory
from support_simulators.dixa.paging import DEFAULT_PAGE_LIMIT, PageRules, paged
from support_simulators.framework import (
    Faults,
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
)
from support_simulators.framework.dataset import UTC

DEFAULT_API_TOKEN = "dixa-demo-token"
#: Dixa's published limit per API token (docs.dixa.io, API standards and rules).
RATE_LIMIT, RATE_BURST = 10.0, 4


def _whole(items: list | None) -> SimResponse:
    """A list Dixa answers in one piece (no `meta`), or its 404 when there is no such object."""
    if items is None:
        return json_response({"message": "The requested resource could not be found"}, 404)
    return json_response({"data": items})


def _moment(text: t.Any) -> dt.datetime:
    """An ISO 8601 date-time from a control request (UTC when it names no offset)."""
    moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _unknown(kind: str, name: str) -> SimResponse:
    return json_response(
        {"message": f"Invalid value extracted from request context: unknown {kind} {name!r}"}, 400
    )


class DixaSimulator(VendorSimulator):
    name = "dixa"
    deliberate_oddities = (
        (
            r"Dixa sent a field `_type` this tap does not know, 'DurationField'",
            "the simulator sends a field type Dixa does not publish on purpose "
            "(`novel_field_type`), to show that the tap keeps such a field, as JSON, and warns "
            "once",
        ),
    )

    def __init__(
        self,
        *,
        api_token: str = DEFAULT_API_TOKEN,
        conversations_per_day: int = 40,
        novel_field_type: bool = True,
        now: dt.datetime | None = None,
        default_page_limit: int = DEFAULT_PAGE_LIMIT,
        faults: Faults | None = None,
        **kwargs: t.Any,
    ) -> None:
        faults = faults or Faults()
        if faults.rate_limit is None:  # Dixa's own limit unless the caller chose one (0: off)
            faults.rate_limit, faults.burst = RATE_LIMIT, RATE_BURST
        self.api_token = api_token
        self.fixed_now = now
        self.default_page_limit = default_page_limit
        #: Answer an empty page (which still links `meta.next` to the rows) before every page, as
        #: Dixa may when it filters a page empty.
        self.empty_pages = False
        #: Link the second page back to the first (A -> B -> A), a paging cycle.
        self.page_cycle = False
        #: Answer empty pages forever, each linking `meta.next` to a new pageKey.
        self.endless_empty_pages = False
        super().__init__(faults=faults, **kwargs)
        #: Every data query received: (path, pageKey or None, parsed JSON body), for inspection.
        self.queries: list[tuple[str, str | None, t.Any]] = []
        self.dataset = DixaDataset(
            seed=self.seed,
            conversations_per_day=conversations_per_day,
            novel_field_type=novel_field_type,
        )
        self.exports = DixaExports(self.dataset, AGENTS, QUEUES, TAGS, self.now)
        #: The main API's objects, less those deleted (`delete`).
        self.directory = Directory()

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(UTC)

    def default_faults(self) -> Faults:
        return Faults(rate_limit=RATE_LIMIT, burst=RATE_BURST)  # Dixa's published limit

    def tap_settings(self) -> dict[str, str]:
        # One server answers the main, Analytics and Exports APIs (three hosts at Dixa).
        return {"api_url": self.url, "exports_api_url": self.url}

    def routes(self):
        yield "GET", re.compile(r"/v1/analytics/metrics"), self.metrics_catalogue
        yield "GET", re.compile(r"/v1/analytics/records"), self.records_catalogue
        yield "GET", re.compile(r"/v1/analytics/metrics/(?P<id>[^/]+)"), self.metric_description
        yield "GET", re.compile(r"/v1/analytics/records/(?P<id>[^/]+)"), self.record_description
        yield "GET", re.compile(r"/v1/analytics/filter/(?P<attribute>[^/]+)"), self.filter_values
        yield "POST", re.compile(r"/v1/analytics/metrics"), self.metric_data
        yield "POST", re.compile(r"/v1/analytics/records"), self.records_data
        # The Exports API (exports.dixa.io) and the main API's lists (dev.dixa.io), on one port.
        yield "GET", re.compile(r"/v1/conversation_export"), self.conversation_export
        yield "GET", re.compile(r"/v1/message_export"), self.message_export
        yield "GET", re.compile(r"/v1/conversations/activitylog"), self.activity_log
        for path in LISTS:
            yield "GET", re.compile(rf"/v1/{path}"), self._lister(path)
        yield "GET", re.compile(r"/v1/teams/(?P<id>[^/]+)/agents"), self.team_members
        yield "GET", re.compile(r"/v1/queues/(?P<id>[^/]+)/members"), self.queue_members
        yield "GET", re.compile(r"/v1/conversations/(?P<csid>[^/]+)/notes"), self.notes

    # ---- changes between runs ------------------------------------------------------------

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object in "Dixa" (`kind`: the list's path under /v1/: agents, endusers,
        queues, tags, teams, custom-attributes): from now on it is not listed (and a deleted
        agent is in no team or queue). KeyError if there is no such object."""
        self.directory.delete(kind, object_id)

    def edit(self, csid: int, at: dt.datetime, recorded_at: dt.datetime | None = None) -> None:
        """Edit a conversation at `at`; the Exports API shows it from `recorded_at` (default
        `at`) on, by this simulator's clock (see `DixaExports.update`)."""
        self.exports.update(csid, at, recorded_at)

    def control(self, request: SimRequest) -> SimResponse:
        """Besides the shared control endpoints (`delete` among them): POST /_simulator/edit
        `{"csid": ..., "updated_at": <ISO>, "recorded_at": <ISO, optional>}` and POST
        /_simulator/clock `{"now": <ISO or null>}` (null: the real clock), so a pipeline can be
        tried against deletes and late edits between two runs."""
        action = request.path[len(self.CONTROL_PREFIX) :]
        if request.method != "POST" or action not in ("edit", "clock"):
            return super().control(request)

        def change() -> None:
            body = request.json() or {}
            if action == "edit":
                recorded = body.get("recorded_at")
                self.edit(
                    int(body["csid"]),
                    _moment(body["updated_at"]),
                    _moment(recorded) if recorded else None,
                )
            else:
                self.fixed_now = _moment(body["now"]) if body.get("now") else None

        return self.control_change(change)

    def authorized(self, request: SimRequest) -> SimResponse | None:
        # The Exports API takes the token as a Bearer token; the main API takes it bare.
        bearer = request.path in ("/v1/conversation_export", "/v1/message_export")
        if request.headers.get("Authorization") == (
            f"Bearer {self.api_token}" if bearer else self.api_token
        ):
            return None
        return json_response({"message": "Unauthorized"}, 401)

    def reset_log(self) -> None:
        super().reset_log()
        with self._log_lock:
            self.queries.clear()

    def data_queries(
        self, kind: str, data_id: str | None = None, *, first_pages: bool = False
    ) -> list[dict]:
        """Bodies of the metric ("metrics") or record ("records") queries received, oldest first."""
        return [
            body
            for path, key, body in list(self.queries)
            if path.endswith(kind)
            and (data_id is None or body.get("id") == data_id)
            and not (first_pages and key is not None)
        ]

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        return expected.primary_keys(self, tap_config)

    # ---- data ----------------------------------------------------------------------------

    def select(
        self,
        record_id: str,
        start: dt.datetime,
        end: dt.datetime,
        filters: t.Iterable[tuple[str, set[str]]] = (),
    ) -> list[SimRecord]:
        """Rows of a record id in [start, end) (capped at now) passing the filters the record
        supports."""
        return select(self.dataset, record_id, start, end, filters, self.now())

    def aggregates(
        self,
        metric_id: str,
        start: dt.datetime,
        end: dt.datetime,
        filters: t.Iterable[tuple[str, set[str]]] = (),
        aggregations: list[str] | None = None,
    ) -> list[dict]:
        """A metric's aggregates for [start, end), from the rows of its record."""
        rows = self.select(METRICS[metric_id]["record"], start, end, filters)
        return aggregate(metric_id, rows, aggregations)

    # ---- the Analytics API ------------------------------------------------------------------

    def metrics_catalogue(self, request: SimRequest) -> SimResponse:
        return self._paged(request, [metric_entry(m) for m in METRICS], b"metrics")

    def records_catalogue(self, request: SimRequest) -> SimResponse:
        return self._paged(request, [record_entry(r) for r in RECORDS], b"records")

    def metric_description(self, request: SimRequest) -> SimResponse:
        metric_id = request.match["id"]
        if metric_id not in METRICS:
            return _unknown("metric", metric_id)
        return json_response({"data": metric_entry(metric_id)})

    def record_description(self, request: SimRequest) -> SimResponse:
        record_id = request.match["id"]
        if record_id not in RECORDS:
            return _unknown("record", record_id)
        return json_response({"data": record_entry(record_id)})

    def filter_values(self, request: SimRequest) -> SimResponse:
        attribute = request.match["attribute"]
        values = filter_attributes().get(attribute)
        if values is None:
            return _unknown("filter", attribute)
        return self._paged(request, values, attribute.encode())

    def _query(
        self, request: SimRequest, known: t.Mapping[str, t.Any], *, metric: bool
    ) -> DataQuery:
        """The POST's query, logged in `queries` once its body is JSON."""
        try:
            body = request.json()
        except ValueError:
            raise BadRequest("Invalid value for: body (not JSON)") from None
        with self._log_lock:
            self.queries.append((request.path, request.arg("pageKey"), body))
        return parse_query(body, known, metric=metric, now=self.now())

    def records_data(self, request: SimRequest) -> SimResponse:
        try:
            query = self._query(request, RECORDS, metric=False)
        except BadRequest as exc:
            return json_response({"message": str(exc)}, 400)
        rows = self.select(query.id, query.start, query.end, query.filters)
        return self._paged(request, rows, request.body, encode=SimRecord.to_json)

    def metric_data(self, request: SimRequest) -> SimResponse:
        try:
            query = self._query(request, METRICS, metric=True)
        except BadRequest as exc:
            return json_response({"message": str(exc)}, 400)
        unknown = [m for m in (query.aggregations or []) if m not in METRICS[query.id]["measures"]]
        if unknown:
            return json_response(
                {
                    "message": f"Invalid value for: body (aggregations {unknown} not supported by "
                    f"{query.id})"
                },
                400,
            )
        aggregates = self.aggregates(
            query.id, query.start, query.end, query.filters, query.aggregations
        )
        return json_response({"data": {"id": query.id, "aggregates": aggregates}})

    # ---- the Exports API and the main API ---------------------------------------------------

    def conversation_export(self, request: SimRequest) -> SimResponse:
        return self._export(request, messages=False)

    def message_export(self, request: SimRequest) -> SimResponse:
        return self._export(request, messages=True)

    def _export(self, request: SimRequest, *, messages: bool) -> SimResponse:
        try:
            return json_response(self.exports.export(request.query, messages=messages))
        except ExportQueryError as exc:
            return json_response({"message": str(exc)}, 400)

    def _lister(self, kind: str) -> t.Callable[[SimRequest], SimResponse]:
        def answer(request: SimRequest) -> SimResponse:
            items = self.directory.listing(kind)
            if kind not in PAGED_LISTS:
                return json_response({"data": items})
            return self._paged(request, items, kind.encode())

        return answer

    def team_members(self, request: SimRequest) -> SimResponse:
        return _whole(self.directory.team_members(request.match["id"]))

    def queue_members(self, request: SimRequest) -> SimResponse:
        return _whole(self.directory.queue_members(request.match["id"]))

    def notes(self, request: SimRequest) -> SimResponse:
        text = request.match["csid"]
        if not text.isdigit():
            return json_response(
                {"message": "Invalid value for: path parameter conversationId"}, 400
            )
        conversation = self.exports.conversation(int(text))
        return _whole(None if conversation is None else self.exports.notes_of(conversation))

    def activity_log(self, request: SimRequest) -> SimResponse:
        utc = zoneinfo.ZoneInfo("UTC")
        try:
            start = instant(request.arg("fromDatetime"), utc)
            end = instant(request.arg("toDatetime"), utc)
        except BadRequest:
            return json_response(
                {"message": "Invalid value for: query parameter fromDatetime/toDatetime"}, 400
            )
        scope = f"activitylog:{request.arg('fromDatetime')}:{request.arg('toDatetime')}".encode()
        return self._paged(request, self.exports.activity_log(start, min(end, self.now())), scope)

    def _paged(
        self, request: SimRequest, items: list, scope: bytes, encode: t.Callable | None = None
    ) -> SimResponse:
        rules = PageRules(
            self.default_page_limit, self.empty_pages, self.page_cycle, self.endless_empty_pages
        )
        return paged(request, items, scope, rules, f"{self.host}:{self.port}", encode)
