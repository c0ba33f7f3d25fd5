"""The repository's own Meltano project (.meltano/), shared by tests on several xdist workers.

`meltano install` (re)installs plugins' venvs under .meltano/ while another test may be running
a plugin from one of them (`meltano run`, the demo's loader). So installing takes the project
exclusively and running a plugin from it takes it shared: `flock` on one file, which holds
across the workers and any other process that uses these helpers. A process must not ask for
the project exclusively while it holds it shared (the two requests would wait on each other).
"""

from __future__ import annotations

import contextlib
import fcntl
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / ".meltano" / "tests.lock"


@contextlib.contextmanager
def _locked(operation: int) -> t.Iterator[None]:
    LOCK.parent.mkdir(exist_ok=True)
    with LOCK.open("a") as handle:
        fcntl.flock(handle, operation)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installing() -> t.ContextManager[None]:
    """While `meltano install` (or the demo, which installs first) runs: nothing else uses it."""
    return _locked(fcntl.LOCK_EX)


def running() -> t.ContextManager[None]:
    """While plugins installed in the project run: no install replaces them meanwhile."""
    return _locked(fcntl.LOCK_SH)
