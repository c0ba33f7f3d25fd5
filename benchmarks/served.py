"""A vendor simulator in a process of its own, for the benchmarks.

A real vendor does not share the tap's interpreter, nor the benchmark's: a simulator serving from
the benchmark's own process takes turns on one interpreter lock with whatever that process does
meanwhile (a plain loop parsing answers, or reading a tap's output from a pipe), and the figures
then measure the lock, not the tap.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
import typing as t

import requests

from support_simulators.framework.simulator import VendorSimulator


def _serve(make: t.Callable[[], VendorSimulator], urls: multiprocessing.Queue) -> None:
    simulator = make().start()
    urls.put(simulator.url)
    while True:
        time.sleep(3600)


class Served:
    """The simulator's URL and its control endpoints (`/_simulator/...`)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def requests_made(self, status: int | None = None) -> int:
        """Requests answered since the start or the last `reset` (with `status` only: those)."""
        counts = requests.get(f"{self.url}/_simulator/stats", timeout=30).json()["requests"]
        return sum(n for key, n in counts.items() if status is None or key.endswith(f" {status}"))

    def reset(self) -> None:
        """Forget the requests made; faults go back to the vendor's defaults (its rate limit)."""
        requests.post(f"{self.url}/_simulator/reset", timeout=30).raise_for_status()


@contextlib.contextmanager
def served(make: t.Callable[[], VendorSimulator]) -> t.Iterator[Served]:
    """The simulator `make` builds, serving from a child process until the block ends."""
    context = multiprocessing.get_context("fork")  # `make` is a closure: not picklable
    urls = context.Queue()
    process = context.Process(target=_serve, args=(make, urls), daemon=True)
    process.start()
    try:
        yield Served(urls.get(timeout=60))
    finally:
        process.terminate()
        process.join(timeout=30)
