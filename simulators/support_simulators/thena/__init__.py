"""Thena requests export simulator: GET /v1/requests/exports with Bearer auth.

Data: a seeded, deterministic stream of support requests from 2024-01-01, about
`requests_per_day` a day (fewer at weekends), in the shape of the export's published
example: its fields in its order, US-style "MM/DD/YYYY HH:MM" dates, "" and "N/A"
placeholders (`csat_score` "N/A" until rated), numbers as numbers, `ai_tags` lists.
The published example itself is served too: request 3292, created 05/12/2023 12:24,
byte for byte as Thena's page shows it (tests/contracts/thena/ holds the page's copy).

`variants=True` adds what the docs do not promise but a beta API may send: a few ISO
dates, numbers as text, a field the docs do not list, and the forms Thena's sister
requests API publishes (`ai_tags` as "A, B", `csat_score` "NA").

A request's later life (assignment, closing, rating) only appears once the
simulator's clock has passed it, so re-reading recent creation dates returns changed
rows, as the real export does.

The docs do not say whether `end_date` is inclusive; this simulator treats it as
inclusive (set `end_date_inclusive=False` to serve the other reading).

Rate limit: the export page says only that answers "are subject to rate limiting"; Thena's
newer platform API documents `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (a UNIX timestamp in seconds) and HTTP 429 (docs.thena.ai/api-reference/
introduction). With a rate limit set (`--rate-limit`, `Faults.rate_limit` in requests per
second, counted in windows of `Faults.rate_window` seconds) every answer carries those three
headers and a 429 carries only `X-RateLimit-Reset`.

Late edits: `record_late_edit(request_id, changes)` makes a request read differently from now
on (a field edited after the moment it describes, recorded late), as the export would show it.
"""

from support_simulators.thena.dataset import ThenaDataset, ThenaRequestRow
from support_simulators.thena.published import PUBLISHED_DAY, PUBLISHED_EXAMPLE, PUBLISHED_ROW
from support_simulators.thena.simulator import DEFAULT_API_KEY, ThenaSimulator

__all__ = [
    "DEFAULT_API_KEY",
    "PUBLISHED_DAY",
    "PUBLISHED_EXAMPLE",
    "PUBLISHED_ROW",
    "ThenaDataset",
    "ThenaRequestRow",
    "ThenaSimulator",
]
