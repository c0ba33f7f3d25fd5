"""The hostile-answer matrix (issue 18): every endpoint of every tap x every class of hostile
answer, each cell held to one invariant (`kit_invariant`).

The endpoints come from the taps themselves (each stream's request and its `extra_endpoints`,
`support_taps.endpoints`), so a new stream or endpoint joins the matrix without an edit here.
The answers come from `kit_answers`, their values drawn by hypothesis: the same in every run
(each cell's seed and first option come from `kit_matrix.SEED`), or fresh ones with
`HYPOTHESIS_PROFILE=explore` (`HOSTILE_EXAMPLES` per cell, 10 by default there).

The whole matrix is marked `slow`; one class per endpoint, chosen by the seed and so the same
in every run, is not, and runs in the fast suite (`make test-fast`).

    .venv/bin/python -m pytest tests/hostile
    .venv/bin/python -m pytest tests/hostile -k "tap-dixa and duplicates"
    HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/hostile -k drip
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import Phase, given, seed, settings
from kit_answers import CLASSES
from kit_invariant import check
from kit_matrix import PROFILES, discovered, reference, run_cell, stable_number

EXPLORING = os.environ.get("HYPOTHESIS_PROFILE") == "explore"
#: Examples per cell: one in the repeatable runs (CI), more when exploring.
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "10" if EXPLORING else "1"))


#: Cells left out, (profile, endpoint label or "*", answer class) -> why: those this matrix
#: found that are not fixed yet ("not fixed yet"). Delete an entry with its fix; the cell must
#: then pass.
LEFT_OUT: dict[tuple[str, str, str], str] = {}


def left_out(found, answer) -> str | None:
    """Why the cell is left out (see `LEFT_OUT`), or None."""
    for endpoint in (found.endpoint.label, "*"):
        reason = LEFT_OUT.get((found.profile, endpoint, answer.name))
        if reason is not None:
            return reason
    return None


def _cells() -> list:
    cells = []
    for name in PROFILES:
        for found in discovered(name)[0]:
            applicable = [
                answer
                for answer in CLASSES.values()
                if answer.applies(found.target) and left_out(found, answer) is None
            ]
            sampled = applicable[stable_number(found.id) % len(applicable)]
            for answer in applicable:
                marks = [] if answer is sampled else [pytest.mark.slow]
                cells.append(
                    pytest.param(found, answer, id=f"{found.id} | {answer.name}", marks=marks)
                )
    return cells


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every xdist worker of this session shares (for the clean runs)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "hostile-clean-runs"


@pytest.mark.parametrize(("found", "answer"), _cells())
def test_hostile_answer(found, answer, shared_dir, tmp_path):
    ref = reference(found, shared_dir)
    offset = stable_number(found.id, answer.name)
    runs = iter(range(10**6))

    @settings(
        max_examples=EXAMPLES,
        database=None,
        phases=list(Phase) if EXPLORING else [Phase.explicit, Phase.generate],
    )
    @given(params=answer.strategy(offset))
    def holds(params):
        workdir = tmp_path / f"example-{next(runs)}"
        workdir.mkdir()
        cell = run_cell(found, answer, params, ref, workdir)
        problems = check(cell, found, answer, params, ref)
        assert not problems, "\n".join(problems)

    if not EXPLORING:
        holds = seed(offset)(holds)
    holds()
