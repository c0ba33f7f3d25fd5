"""Khoros Care Analytics API simulator: asynchronous report jobs and a separate file host.

    GET  /api/public/reports/report/{report_type}?companyKey&startTime&endTime&...   start a job
    POST /api/public/reports/report/conversation_actions   (form body)              start a job
    GET  /api/public/reports/report/{workflowId}/{runId}/status                      poll it
    GET  /api/public/reports/report/{workflowId}/{runId}/download                    307 to the file
    GET  /api/public/teams?companyKey                                                 the teams

Every API call needs HTTP Basic credentials (401 otherwise) and the `companyKey`
query parameter (403 otherwise). A job takes `job_latency` seconds (a seeded random
value between the two bounds) before its status turns `CLOSED`/`COMPLETED`; jobs
named in `failing` end `CLOSED`/`FAILED`, jobs in `stuck` never finish, jobs in
`no_file` end `CLOSED` with neither `detail` nor `downloadUrl`, jobs in `unreadable`
answer a status with no `runnerState` anywhere. runIds are base64 with "/", "+"
and "=", so a client must URL-encode them.

The status answer has the shape of Khoros's OpenAPI examples (tests/contracts/khoros):
the envelope's `result` holds `jobInfo` (`workflowId`, `runId`, `downloadUrl`,
`statusUrl`, the URLs carrying an `analyticsAccessToken`) and an inner `result` with
`runnerState` (RUNNING, then CLOSED), `reason`, `detail` and counts. `status_shape`
picks the variant: "object" (envelope `result` an object), "list" (a one-item list),
"inner-list" (the inner `result` a one-item list), "flat" (the job's fields right in
`result`, as older answers), or "mixed" (default: object and list alternating per
job, as the published examples do).

`bad_downloads` maps (report type, window start date) to a broken download answer:
"empty-200" (HTTP 200, no body), "204", or "307-no-location".

Ranges, as Khoros documents them: a job may span three calendar months at most and
reach back `history_months` (18) from now; Team Performance Interval refuses more than
744 buckets ("Too many buckets (N) requested", Khoros's published message; the
interval defaults to an hour here); `max_range_days` (per report type) refuses longer
ranges too, to exercise splitting.

The download answers 307 with a short-lived pre-signed URL on a second loopback server
(`files`); `bulk_rows` makes a report type serve that many synthetic rows per window.

`GET /teams` answers in the shape of Khoros's published example (tests/contracts/khoros/
teams_result.json): `{"status": "PASS", "request": null, "message": null, "result": [{"uuid",
"teamId", "name", "description", "numberOfMembers"}]}`. The user export's JSON files carry the
five columns Khoros's reference page lists as JSON-only (`TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS`,
`TOTAL_GREEN_STATE_TIME_MILLIS`, `TOTAL_YELLOW_STATE_TIME_MILLIS`,
`TOTAL_RED_STATE_TIME_MILLIS`, `TOTAL_MOBILE_TIME_MILLIS`); its CSV files do not.

Late edits: `record_late_edit([report type, row id], {column: value})` makes the row with that
id (POST_ID, CONVERSATION_ID, HELP_REQUEST_ID) read differently from now on, as a row Khoros
records late.

Modules: `dataset` (the support operation the reports are computed from), `reports` (the
report types, their columns and rows), `params` (a job's query parameters, refused as Khoros
refuses them), `files` (the file host), `simulator` (the API: start, status, download),
`expected` (what a full tap run must deliver).
"""

from support_simulators.khoros.simulator import KhorosSimulator

__all__ = ["KhorosSimulator"]
