"""Xenioo statistics simulator: token endpoint, account/bot/DLR statistics, throttles.

Endpoints (docs.xenioo.com, Global Platform API):
    POST /authorization/integration           {"AccountAPIKey": ...} -> {"token", "expires"}
    GET  /analytics/statistics/account/<APIKEY>/<TYPES>/<GROUPMODE>/<DAYS>
    GET  /analytics/statistics/bot/<APIKEY>/<TYPES>/<GROUPMODE>/<DAYS>     (path inferred)
    GET  /analytics/statistics/dlr/account/<APIKEY>/<GROUPMODE>/<DAYS>

Behaviour:
- Tokens last `token_minutes` (the answer says so in `expires`, in minutes); an
  expired, unknown or revoked token gets HTTP 401. `token_uses` (optional) makes
  each token good for that many statistics calls only, to exercise renewal.
- Throttles: one account-statistics call per account per hour, one bot-statistics
  call per bot per 30 minutes, one DLR call per account per hour (the DLR limit is
  not published; an hour is assumed). An early call gets HTTP 400 with a message
  saying the call is throttled (Xenioo's error body is not published; it reports
  other throttles as 400). Only answered (200) calls count. `throttle=False` turns
  the throttles off.
- DAYS=n covers the n calendar days ending today (UTC), today included. GROUPMODE
  hour|day|month|year gives GroupLabel "YYYY-MM-DD HH:00" | "YYYY-MM-DD" | "YYYY-MM"
  | "YYYY". Month and year buckets only count the days inside the DAYS range.
- Data: a seeded, deterministic set of bots and channels with per-day values for
  each statistic type; today's values grow with the hour (data of the current day
  is revised until it ends). Only non-zero entries are returned, as dashboards do.
- The clock is injectable (`now=`) and can be moved with `advance(seconds)`, so
  tests exercise hour-long throttles and token expiry without waiting.

Response objects carry the published `GroupLabel`, `BotName`, `ChannelName` and
`EventLabel` (docs.xenioo.com, Account Statistics Data; the published example is in
tests/contracts/xenioo/), plus fields Xenioo does not publish (assumed here): `Value`,
`BotId` and, for DLR, `Status`. By default EventLabel is the documented name of the
statistic type (e.g. "New User"), one row per type. Variants the docs do not rule out:
`breakdowns=True` labels the NLP Detected, Goal Reached and Tag Hit rows by intent, goal
or tag instead (their type can then only be told when the call asked for one type), and
`type_field=True` adds an unpublished `Type` code to every statistics object. The token
answer is `{"token", "expires"}` as the current docs show it, or `{"Token", "Expires"}` as
the older ones do (`token_keys`).

Late edits: `record_late_edit([bot name, channel, "YYYY-MM-DD", type code], {"value": v})`
makes that bot's day of that statistic type on that channel read `v` (the whole day's value)
from now on, as a value Xenioo recorded after a bucket was read.
"""

from support_simulators.xenioo.dataset import (
    ACCOUNT_TYPES,
    BOT_TYPES,
    DEFAULT_BOTS,
    GROUP_MODES,
    MAX_DAYS,
    STATISTIC_TYPES,
    XeniooDataset,
)
from support_simulators.xenioo.simulator import DEFAULT_ACCOUNT_API_KEY, XeniooSimulator

__all__ = [
    "ACCOUNT_TYPES",
    "BOT_TYPES",
    "DEFAULT_ACCOUNT_API_KEY",
    "DEFAULT_BOTS",
    "GROUP_MODES",
    "MAX_DAYS",
    "STATISTIC_TYPES",
    "XeniooDataset",
    "XeniooSimulator",
]
