"""Dixa simulator: the Analytics API, the Exports API and the main API's lists, on one port.

Shapes follow Dixa's Analytics API reference (vendor-docs/dixa-analytics-api.txt) and the
Exports and main API references. Auth is the raw token in `Authorization` (no "Bearer"; the
Exports API takes it as a Bearer token); a wrong token gets 401. Dixa's published rate limit,
10 requests/s with bursts of 4 per token, is enforced with 429 and Retry-After (one bucket: the
simulator serves one token) unless the caller sets `Faults.rate_limit` itself (0 turns it off).

Data: seeded, deterministic conversations generated per UTC day from 2024-01-01; rows whose
primary timestamp is after the simulator's clock are not served.

Modules: `dataset` (conversations and the record rows made from them), `catalogue` (record ids
and metrics as Dixa describes them), `analytics` (data queries, rows, aggregates), `exports`
(conversation and message exports, activity log), `lists` (agents, end users, queues, tags,
teams), `paging` (pageKey links), `simulator` (routes, credentials, handlers), `expected`
(what a full tap run must deliver).
"""

from support_simulators.dixa.simulator import DixaSimulator

__all__ = ["DixaSimulator"]
