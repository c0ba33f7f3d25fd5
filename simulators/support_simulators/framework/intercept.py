"""Answers in an endpoint's place: one endpoint misbehaves, every other answers as usual.

`LoopbackServer.intercept(method, path, answer)` hands each request to that endpoint to
`answer(request, normal)`, where `normal()` is what the server would have answered (so an
answer can spoil the real one: a row twice, a field out of range); what `answer` returns is
sent instead (None drops the connection; a `SimResponse` with `write` writes raw bytes). The
hostile-answer matrix (tests/hostile/) uses it on every endpoint of every tap.
"""

from __future__ import annotations

import re
import threading
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from support_simulators.framework.server import SimRequest, SimResponse

#: `answer(request, normal)`: what to send for `request`; `normal()` is the usual answer.
Answer = t.Callable[["SimRequest", t.Callable[[], "SimResponse | None"]], "SimResponse | None"]


@dataclass
class Intercept:
    """Requests of `method` whose whole path matches `path` are answered by `answer`, the
    first `times` of them (None: all); the others as usual."""

    method: str
    path: re.Pattern[str]
    answer: Answer
    times: int | None = None
    #: Requests answered by `answer` so far.
    served: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claims(self, request: SimRequest) -> bool:
        """Whether `answer` answers `request` (and counts it)."""
        if request.method != self.method or not self.path.fullmatch(request.path):
            return False
        with self._lock:
            if self.times is not None and self.served >= self.times:
                return False
            self.served += 1
            return True


class Intercepts:
    """A server's intercepts, the first that claims a request answering it."""

    def __init__(self) -> None:
        self._items: list[Intercept] = []
        self._lock = threading.Lock()

    def add(self, intercept: Intercept) -> Intercept:
        with self._lock:
            self._items.append(intercept)
        return intercept

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def answer(
        self, request: SimRequest, normal: t.Callable[[], SimResponse | None]
    ) -> SimResponse | None:
        with self._lock:
            items = list(self._items)
        for intercept in items:
            if intercept.claims(request):
                return intercept.answer(request, normal)
        return normal()
