"""Whatever goes wrong, a run ends with one line naming the input at fault, in bounded time.

Each case was a raw exception, a 20-line traceback, a silent exit 0 or a hang before: a state
file that is not JSON, a bookmark in the future, a secret copied with its line break, a
window of a billion days, a redirect loop or to file://, a body that cannot be decompressed,
a 404 from another host after a redirect, a refused connection with few retries, JSON nested
deeper than a parser reads, a lone UTF-16 surrogate, a target that closes the pipe, an answer
that drips. Driven through tap-thena's CLI (the simplest tap: the behaviour is the core's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from kit_hostile import DripServer
from kit_thena import API_KEY, thena_config
from tap_runner import run_tap

from support_simulators.framework import Fault, VendorSimulator
from support_simulators.thena import ThenaSimulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests/contracts/thena/requests-export-example-response.json"


@pytest.fixture
def thena():
    with ThenaSimulator(api_key=API_KEY) as sim:
        yield sim


def _one_line(run, *phrases: str) -> str:
    """The run failed with exactly one ERROR line, holding each phrase, and no traceback."""
    assert run.returncode != 0, run.stderr[-2000:]
    errors = run.error_lines()
    assert len(errors) == 1, "\n".join(errors) or run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


# ---- the state a run starts from ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ('{"bookmarks": ', "is not valid JSON (line 1, column 15"),
        ('{"bookmarks": []}', "`bookmarks` should be an object of streams, found list[]"),
        ('{"bookmarks": {"requests": 7}}', "the bookmark of `requests` should be an object"),
        ("[1, 2]", 'expected an object such as {"bookmarks": {...}}'),
    ],
)
def test_a_state_file_that_cannot_be_used_is_one_line_naming_it(thena, tmp_path, text, phrase):
    state = tmp_path / "state.json"
    state.write_text(text)
    run = run_tap("tap_thena", thena_config(thena), args=("--state", str(state)))
    _one_line(run, f"The state file {str(state)!r}", phrase)
    assert run.records() == [] and not thena.calls()


@pytest.mark.parametrize(
    ("value", "phrases"),
    [
        ("2031-01-01T00:00:00+00:00", ("The state's bookmark of `requests`", "is in the future")),
        ("yesterday", ("the bookmark of `requests` is not a date-time (found 'yesterday')",)),
    ],
)
def test_a_bookmark_in_the_future_or_unreadable_stops_the_run(thena, value, phrases):
    state = {
        "bookmarks": {
            "requests": {"replication_key": "created_datetime", "replication_key_value": value}
        }
    }
    run = run_tap("tap_thena", thena_config(thena), state=state)
    _one_line(run, *phrases)
    assert run.records() == [] and not thena.calls()


# ---- settings --------------------------------------------------------------------------------


def test_a_secret_copied_with_its_line_break_is_named_not_shown(thena):
    run = run_tap("tap_thena", thena_config(thena, api_key=API_KEY + "\n"))
    line = _one_line(run, "The setting `api_key` has a line break")
    assert API_KEY not in run.output and API_KEY not in line
    assert not thena.calls()


def test_a_window_of_a_billion_days_is_named(thena):
    run = run_tap("tap_thena", thena_config(thena, window_days=10**9))
    _one_line(run, "The setting `window_days` is 1e+09 days, more than 36,500 days")


# ---- answers no retry can mend -----------------------------------------------------------


def test_a_redirect_loop_is_one_line_naming_the_endpoint(thena):
    thena.faults.add(*[Fault(status=302, location="{path}?{query}") for _ in range(40)])
    run = run_tap("tap_thena", thena_config(thena, end_date="2025-01-08"))
    _one_line(run, "answered GET /v1/requests/exports with a redirect loop", "`api_url`")


def test_a_redirect_to_another_scheme_is_not_followed(thena):
    thena.faults.add(Fault(status=302, location="file:///etc/passwd"))
    run = run_tap("tap_thena", thena_config(thena, end_date="2025-01-08"))
    _one_line(run, "redirected GET /v1/requests/exports to a URL that is not http(s)")


def test_a_404_from_another_host_after_a_redirect_blames_that_host(thena):
    with VendorSimulator() as elsewhere:
        thena.faults.add(Fault(status=302, location=f"http://localhost:{elsewhere.port}/gone"))
        run = run_tap("tap_thena", thena_config(thena, end_date="2025-01-08"))
    line = _one_line(run, "redirected GET /v1/requests/exports to another host (localhost)")
    assert "404" in line and "check the" not in line


def test_a_refused_connection_names_the_url_settings_whatever_max_retries():
    config = {
        "api_key": API_KEY,
        "api_url": "http://127.0.0.1:9",
        "start_date": "2025-01-01",
        "max_retries": 1,
        "retry_base_wait": 0.01,
    }
    run = run_tap("tap_thena", config)
    _one_line(run, "the connection was refused", "Check the `workspace` and `api_url` settings")


class _GzipLiar(BaseHTTPRequestHandler):
    """Says gzip, sends something else."""

    def do_GET(self) -> None:
        body = b"\x1f\x8b\x08\x00 this is not gzip at all"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_body_that_cannot_be_decompressed_is_not_retried_and_says_so():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GzipLiar)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        config = {
            "api_key": API_KEY,
            "api_url": f"http://127.0.0.1:{server.server_address[1]}",
            "start_date": "2025-01-01",
            "end_date": "2025-01-08",
            "retry_base_wait": 0.01,
        }
        run = run_tap("tap_thena", config)
    finally:
        server.shutdown()
        server.server_close()
    _one_line(run, "sent a body for GET /v1/requests/exports that cannot be decompressed")
    assert "Retrying" not in run.stderr and "max_retries" not in run.stderr


def test_json_nested_deeper_than_a_parser_reads_is_named(thena):
    thena.faults.add(Fault(status=200, body=b"[" * 5000 + b"]" * 5000))
    run = run_tap("tap_thena", thena_config(thena, end_date="2025-01-08"))
    _one_line(run, "not valid JSON for GET /v1/requests/exports", "nested too deeply")


def test_a_lone_utf16_surrogate_lands_as_a_replacement_character(thena):
    rows = json.loads(EXAMPLE.read_text())
    body = json.dumps(rows).replace("Issue with", "Issue \\ud83d with", 1).encode()
    thena.faults.add(Fault(status=200, body=body))
    config = thena_config(thena, start_date="2023-05-01", end_date="2023-05-31", window_days=31)
    run = run_tap("tap_thena", config)
    assert run.returncode == 0, run.stderr[-3000:]
    [record] = run.records("requests")
    assert record["request_title"].startswith("Issue \ufffd with")
    warnings = [line for line in run.stderr.splitlines() if "lone UTF-16 surrogate" in line]
    assert len(warnings) == 1 and "Retrying" not in run.stderr


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_number_json_cannot_say_lands_as_null_with_one_warning(thena, token):
    rows = json.loads(EXAMPLE.read_text())
    body = json.dumps(rows).replace('"number_of_replies": 1', f'"number_of_replies": {token}', 1)
    thena.faults.add(Fault(status=200, body=body.encode()))
    config = thena_config(thena, start_date="2023-05-01", end_date="2023-05-31", window_days=31)
    run = run_tap("tap_thena", config)
    assert run.returncode == 0, run.stderr[-3000:]
    [record] = run.records("requests")
    assert record["request_id"] == 3292 and record["number_of_replies"] is None
    warnings = [line for line in run.stderr.splitlines() if "beyond any double" in line]
    assert len(warnings) == 1 and "GET /v1/requests/exports" in warnings[0]
    assert "Retrying" not in run.stderr


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_json_in_utf16_or_utf32_is_read_with_one_warning(thena, codec):
    rows = json.loads(EXAMPLE.read_text())
    rows[0]["request_title"] = "Café ñandú"
    body = json.dumps(rows, ensure_ascii=False).encode(codec)
    thena.faults.add(Fault(status=200, body=body))
    config = thena_config(thena, start_date="2023-05-01", end_date="2023-05-31", window_days=31)
    run = run_tap("tap_thena", config)
    assert run.returncode == 0, run.stderr[-3000:]
    [record] = run.records("requests")
    assert record["request_title"] == "Café ñandú"
    warnings = [line for line in run.stderr.splitlines() if "not UTF-8" in line]
    assert len(warnings) == 1 and "GET /v1/requests/exports" in warnings[0]


# ---- in bounded time -----------------------------------------------------------------------


def test_an_answer_that_drips_fails_at_the_deadline_naming_the_setting():
    # Each byte 0.2 s after the last, well inside request_timeout: only the deadline on the
    # whole answer ends the request.
    drip = DripServer("body")
    config = {
        "api_key": API_KEY,
        "api_url": f"http://127.0.0.1:{drip.port}",
        "start_date": "2025-01-01",
        "end_date": "2025-01-08",
        "request_deadline": 1,
        "max_retries": 1,
        "retry_base_wait": 0.01,
    }
    started = time.monotonic()
    try:
        run = run_tap("tap_thena", config)
    finally:
        drip.close()
    assert time.monotonic() - started < 30
    _one_line(run, "did not complete within 1s", "`request_deadline`")
    assert drip.served == 2  # tried, retried, then the one line


# ---- the target ------------------------------------------------------------------------------


def test_a_target_that_closes_the_pipe_gets_one_line_not_a_traceback(thena, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(thena_config(thena, end_date="2025-03-01")))
    tap = subprocess.Popen(
        [sys.executable, "-m", "tap_thena", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tap.stdout is not None and tap.stderr is not None
    tap.stdout.read(100)  # `| head -c 100`
    tap.stdout.close()
    stderr = tap.stderr.read().decode()
    assert tap.wait(timeout=60) == 1
    errors = [line for line in stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1 and "The target stopped reading" in errors[0], stderr[-3000:]
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
