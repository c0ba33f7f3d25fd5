"""The core's singer-sdk range lets the taps install beside the targets people pair them with.

meltanolabs-target-snowflake 0.20.4 pins singer-sdk 0.55.0b3: pip resolves every tap, the core
and that target together (a dry run from PyPI, as into a fresh environment: nothing installed
counts), and picks one singer-sdk for all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = [
    "taps/support-taps-core",
    "taps/tap-thankful",
    "taps/tap-dixa",
    "taps/tap-thena",
    "taps/tap-xenioo",
    "taps/tap-khoros-care",
]
TARGET = "meltanolabs-target-snowflake==0.20.4"

# pip resolves from PyPI (about a minute): with the other tests that leave the checkout.
pytestmark = pytest.mark.slow


def _resolve(tmp_path: Path, *requirements: str) -> dict[str, str]:
    """What pip would install for `requirements` into a brand-new environment: name -> version."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",  # as into a brand-new environment
            "--no-build-isolation",  # the taps' build backend is in the test group
            "--quiet",
            "--report",
            str(report),
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }


def test_the_taps_resolve_together_with_target_snowflake(tmp_path):
    resolved = _resolve(tmp_path, *(str(ROOT / folder) for folder in DISTRIBUTIONS), TARGET)
    assert resolved["meltanolabs-target-snowflake"] == "0.20.4"
    assert resolved["singer-sdk"] == "0.55.0b3", resolved["singer-sdk"]
    assert "msgspec" in resolved  # the fast writer, without the SDK's extra
    for name in ("supportanalytics-taps-core", "supportanalytics-tap-khoros-care"):
        assert name in resolved, sorted(resolved)


def test_alone_the_taps_get_a_final_sdk_release(tmp_path):
    """The range admits a target's pinned pre-release, but never picks one by itself."""
    resolved = _resolve(tmp_path, str(ROOT / "taps" / "support-taps-core"))
    assert Version(resolved["singer-sdk"]) >= Version("0.54.2")
    assert not Version(resolved["singer-sdk"]).is_prerelease, resolved["singer-sdk"]
