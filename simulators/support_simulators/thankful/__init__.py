"""Thankful Analytics API simulator: GET /api/v1/{tickets,handoffs,savings,actions},
`X-API-Key` auth.

Data: a seeded, deterministic ticket history from 2024-01-01. Each day has about
`tickets_per_day` tickets (fewer at weekends), each with an action (or none: not
captured by automation), a channel (1..9), a status (1..8) and, for handoffs, a
cause. The endpoints aggregate those tickets over the period `s`..`e` after the
documented filters (`a` action, `ss` statuses, `fs` channels), so every answer
agrees with every other: the actions in `TopActions` and `/handoffs` are the ones
`/actions` lists, a day's `TicketsOverTime` points equal the totals of a request
for that day alone, and summing days gives the totals of the longer period.

Like the vendor, recent days are revised: until two days after a day ends, part of
its tickets that will be resolved still read as pending, and today only counts the
tickets received so far. `now` fixes the clock for tests.

Late edits: `record_late_edit("YYYY-MM-DD", {"resolved": n})` resolves, from now on, `n` of
that day's pending tickets (status 3 becomes 1), as a ticket closed before the last run but
recorded after it reads.

Granularity: the API answers whatever period it is asked for; points and periods
are whole UTC days here (every published `CreatedAt` is midnight UTC).

Published examples: asked for 2019-05-22 alone without filters, `/tickets`,
`/handoffs` and `/savings` answer the page's own examples (`PUBLISHED`;
tests/contracts/thankful/ holds the page's copies), so a run over that day loads
exactly what Thankful publishes. `/handoffs` and `/savings` are served byte for byte;
the `/tickets` example echoes the period it answers (`Period`: 2019-05-22 to 2019-06-21,
30 days), so it is served byte for byte when that period is asked, and for the day alone
with only its `Period.End` narrowed to that day's last second, as the API echoes what it
is asked.
"""

from support_simulators.thankful.dataset import ThankfulDataset
from support_simulators.thankful.published import PUBLISHED, PUBLISHED_DAY, PUBLISHED_PERIOD
from support_simulators.thankful.simulator import DEFAULT_API_KEY, ThankfulSimulator

__all__ = [
    "DEFAULT_API_KEY",
    "PUBLISHED",
    "PUBLISHED_DAY",
    "PUBLISHED_PERIOD",
    "ThankfulDataset",
    "ThankfulSimulator",
]
