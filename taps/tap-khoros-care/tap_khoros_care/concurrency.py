"""How many report jobs run at once on Khoros's side: adaptive, because Khoros publishes no limit.

A fixed number is a guess that is either slow (too few jobs to overlap their latency) or
rude (more than Khoros wants to run for one account). So the limit starts moderately
(`START`, or the ceiling if that is lower) and grows by one each time a job finishes: a
round of jobs that all finish doubles it, as TCP's slow start does. It never passes
`max_concurrent_reports`, the ceiling the user sets. When Khoros answers 429 (to any
request: too many requests or too many jobs) or refuses to start a job for load, the limit
halves, never below one, and from then on grows by one per round of finished jobs (one for
every `limit` jobs that finish). One back-off per job started: a burst of 429s about the
same jobs halves the limit once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

#: Jobs running at once at the start of a run (below the ceiling; the fixed default was 10).
START = 8


class JobRefused(Exception):
    """Khoros refused to start a job for load (HTTP 429 to the start request): the job is
    started again later, with fewer jobs running."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ConcurrencyLimit:
    """The number of report jobs that may run at once, adapting to what Khoros accepts."""

    #: `max_concurrent_reports`: the limit never grows past it.
    ceiling: int
    limit: int
    logger: logging.Logger
    #: After a back-off, the limit grows one job per round instead of one per job.
    cautious: bool = False
    #: Jobs finished since the limit last grew (while cautious).
    finished_since_growth: int = 0
    #: Jobs started since the last back-off (a back-off needs one: see the module docstring).
    started_since_backoff: int = 1
    backoffs: int = 0
    highest: int = 0

    @classmethod
    def starting(cls, ceiling: int, logger: logging.Logger) -> ConcurrencyLimit:
        ceiling = max(1, ceiling)
        limit = min(ceiling, START)
        return cls(ceiling=ceiling, limit=limit, logger=logger, highest=limit)

    def started(self) -> None:
        """A job was accepted."""
        self.started_since_backoff += 1

    def finished(self) -> None:
        """A job finished with its file: Khoros keeps up, one more may run."""
        if self.limit >= self.ceiling:
            return
        if self.cautious:
            self.finished_since_growth += 1
            if self.finished_since_growth < self.limit:
                return
            self.finished_since_growth = 0
        self.limit += 1
        self.highest = max(self.highest, self.limit)

    def back_off(self, why: str) -> None:
        """Khoros said it is busy (`why`): halve the limit, once per job started."""
        if self.started_since_backoff == 0:
            return
        self.started_since_backoff = 0
        previous, self.limit = self.limit, max(1, self.limit // 2)
        self.cautious, self.finished_since_growth = True, 0
        self.backoffs += 1
        self.logger.warning(
            "Khoros %s: running at most %d report jobs at once (was %d; the ceiling, "
            "`max_concurrent_reports`, is %d).",
            why,
            self.limit,
            previous,
            self.ceiling,
        )
