"""tap-thankful's error paths: credentials, URL, bodies, retries, and secrets kept out of output."""

from __future__ import annotations

from kit_thankful import API_KEY, day_queries, days, thankful_config, z_day
from support_simulators.framework import Fault
from tap_runner import run_tap


def test_wrong_key_names_the_setting_and_never_shows_the_key(thankful):
    wrong = "thankful-wrong-key-8d2f"
    run = run_tap("tap_thankful", thankful_config(thankful, api_key=wrong))
    assert run.returncode != 0
    assert "Thankful refused the credentials (HTTP 401)" in run.stderr
    assert "check the `api_key` setting" in run.stderr
    assert wrong not in run.output
    # The key is sent as the documented header.
    assert thankful.calls()[0].headers.get("X-API-Key") == wrong


def test_the_key_never_reaches_logs_or_state(thankful):
    thankful.faults.add(Fault(status=503, body=f"<html>upstream echoed {API_KEY}</html>".encode()))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode == 0, run.stderr
    assert "Retrying" in run.stderr
    assert API_KEY not in run.output
    assert thankful.calls()[-1].headers.get("X-API-Key") == API_KEY


def test_wrong_base_url_names_api_url(thankful):
    run = run_tap("tap_thankful", thankful_config(thankful, api_url=thankful.url))  # without /api/v1
    assert run.returncode != 0
    assert "HTTP 404" in run.stderr and "`api_url`" in run.stderr and "GET /actions" in run.stderr


def test_html_instead_of_json_names_the_endpoint(thankful):
    thankful.faults.add(Fault(status=200, body=b"<html><body>Maintenance</body></html>", path_prefix="/api/v1/savings"))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert "not valid JSON for GET /api/v1/savings" in run.stderr and "Maintenance" in run.stderr


def test_json_of_the_wrong_shape_is_a_clear_error(thankful):
    thankful.faults.add(Fault(status=200, body=b'{"message": "no handoffs"}', path_prefix="/api/v1/handoffs"))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert "GET /api/v1/handoffs (HTTP 200): expected a JSON list, found object{message: string}" in run.stderr


def test_rate_limits_and_outages_are_retried(thankful):
    thankful.faults.add(
        Fault(status=429, retry_after="0", path_prefix="/api/v1/tickets"),
        Fault(status=503, path_prefix="/api/v1/tickets", skip=1),
        Fault(drop=True, path_prefix="/api/v1/handoffs"),
    )
    config = thankful_config(thankful, end_date="2025-01-03")
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("Retrying") == 3
    ok = [call for call in thankful.calls("/api/v1/tickets") if call.status == 200]
    assert [(c.query["s"][0], c.query["e"][0]) for c in ok] == [z_day(d) for d in days("2025-01-01", "2025-01-02")]
    assert len(run.records("tickets_over_time")) == 2


def test_retries_end_with_a_message_saying_what_failed(thankful):
    thankful.faults.error_rate = 1.0
    run = run_tap("tap_thankful", thankful_config(thankful, max_retries=2))
    assert run.returncode != 0
    assert "Gave up after 3 attempts" in run.stderr and "HTTP 503" in run.stderr
    assert len(thankful.calls()) == 3
    assert not day_queries(thankful, "tickets")
