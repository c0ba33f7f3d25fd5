"""`make demo` is quiet by default (a line per tap, warnings, tables); VERBOSE=1 shows
everything."""

from __future__ import annotations

import subprocess
from pathlib import Path

import demo  # scripts/demo.py (pytest pythonpath)

ROOT = Path(__file__).resolve().parents[2]

OUTPUT = (
    "2026-11-25T15:26:53 [info     ] 2026-11-25 15:26:53,307 | INFO     | tap-thena.requests | "
    "requests: window 1 of 9\n"
    "2026-11-25T15:26:53 [info     ] 2026-11-25 15:26:53,671 | WARNING  | tap-thena.requests | "
    "Retrying in 0.1s (attempt 1)\n"
    "2026-11-25T15:26:53 [info     ] 2026-11-25 15:26:53,671 | WARNING  | tap-thena.requests | "
    "Retrying in 0.1s (attempt 1)\n"
    "2026-11-25T15:26:55 [info     ] 2026-11-25 15:26:55,450 | INFO     | tap-thena | "
    "Run complete: 1 streams, 1,903 records, 16 requests, 7 retries, 0 answered 429, 0 skipped.\n"
)


def test_one_line_per_tap_from_its_summary():
    assert demo.tap_outcome("tap-thena", OUTPUT, 12.4) == (
        "tap-thena: complete in 12 seconds, 1,903 records from 1 streams, 16 requests, 7 retries"
    )
    assert demo.tap_outcome("tap-x", "no summary here", 3) == "tap-x: loaded in 3 seconds"


def test_warnings_are_shown_once_each():
    (warning,) = demo.warnings_in(OUTPUT)
    assert warning.endswith("| WARNING  | tap-thena.requests | Retrying in 0.1s (attempt 1)")


def test_make_demo_is_quiet_unless_verbose():
    def command(*extra: str) -> str:
        done = subprocess.run(
            # --no-print-directory: under a parent make (CI's `make test`) a sub-make would
            # otherwise end its output with "Leaving directory".
            ["make", "--no-print-directory", "-n", "demo", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip().splitlines()[-1]

    assert command().endswith("scripts/demo.py")
    assert command("VERBOSE=0").endswith("scripts/demo.py")
    assert command("VERBOSE=1").endswith("scripts/demo.py --verbose")


def test_warnings_meltano_parsed_from_structured_logs_are_shown_bare():
    line = (
        "2026-11-25T15:37:53.814008Z [warning  ] tap-thena    "
        "Thena sent a field the schema does not know, "
        "'priority_score'; it is left out. cmd_type=elb name=tap-thena"
    )
    assert demo.warnings_in(line) == [
        "tap-thena: Thena sent a field the schema does not know, 'priority_score'; it is left out."
    ]


def test_what_a_simulator_does_on_purpose_is_labelled_so():
    warning = (
        "tap-dixa: Dixa sent a field `_type` this tap does not know, 'DurationField' (record "
        "first_response_times, field business_hours_delay); the field is kept as JSON."
    )
    assert demo.labelled("tap-dixa", warning) == (
        f"{warning} [on purpose: the simulator sends a field type Dixa does not publish on "
        "purpose (`novel_field_type`), to show that the tap keeps such a field, as JSON, and "
        "warns once]"
    )
    other = "tap-dixa: Retrying in 0.1s (attempt 1)"
    assert demo.labelled("tap-dixa", other) == other


def test_the_demo_points_each_tap_at_its_simulator_wherever_it_listens():
    """The demo's simulators listen on free ports (never the demo ports a user's
    `support-simulators serve` may hold): environment variables move the URL settings."""
    assert demo.url_settings("tap-dixa", "http://127.0.0.1:40123") == {
        "TAP_DIXA_API_URL": "http://127.0.0.1:40123",
        "TAP_DIXA_EXPORTS_API_URL": "http://127.0.0.1:40123",
    }
    assert demo.url_settings("tap-thankful", "http://127.0.0.1:40124") == {
        "TAP_THANKFUL_API_URL": "http://127.0.0.1:40124/api/v1"
    }
    assert demo.url_settings("tap-khoros-care", "http://127.0.0.1:40125") == {
        "TAP_KHOROS_CARE_API_URL": "http://127.0.0.1:40125/api/public"
    }
