"""Retries, error messages and secrecy of tap-thena (and so of the shared core)."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime

import pytest
from kit_thena import API_KEY, expected_ids, thena_config
from tap_runner import run_tap

from support_simulators.framework import Fault

EXPORT = "/v1/requests/exports"
ONE_WINDOW = {"start_date": "2025-01-01", "end_date": "2025-01-08"}


def _gaps(sim) -> list[float]:
    calls = sim.calls(EXPORT)
    return [later.at - earlier.at for earlier, later in zip(calls, calls[1:], strict=False)]


def _assert_complete(run, sim) -> None:
    assert run.returncode == 0, run.stderr
    assert {r["request_id"] for r in run.records()} == expected_ids(sim, "2025-01-01", "2025-01-08")
    assert run.bookmark("requests") == "2025-01-08T00:00:00+00:00"


def _assert_no_progress(run) -> None:
    assert run.returncode != 0
    assert run.bookmark("requests") is None, "state moved past data that was not emitted"
    assert run.records() == []


def test_429_waits_as_long_as_retry_after_says(thena):
    thena.faults.add(Fault(status=429, retry_after="1"))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    _assert_complete(run, thena)
    assert [c.status for c in thena.calls(EXPORT)] == [429, 200]
    assert _gaps(thena)[0] >= 0.95
    assert "Retrying in 1.0s" in run.stderr and "HTTP 429" in run.stderr


def test_retry_after_as_an_http_date(thena):
    def three_seconds_from_now() -> str:
        return format_datetime(
            dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3), usegmt=True
        )

    thena.faults.add(Fault(status=503, retry_after=three_seconds_from_now))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    _assert_complete(run, thena)
    # An HTTP date has whole seconds, so 2 to 3 s remained when it was served.
    assert _gaps(thena)[0] >= 1.5


def test_5xx_are_retried_with_backoff(thena):
    thena.faults.add(
        Fault(status=502), Fault(status=503), Fault(status=500, body=b"<html>oops</html>")
    )
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    _assert_complete(run, thena)
    assert [c.status for c in thena.calls(EXPORT)] == [502, 503, 500, 200]


def test_retry_after_is_capped_by_max_retry_after(thena):
    thena.faults.add(Fault(status=429, retry_after="3600"))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, max_retry_after=0.2))
    _assert_complete(run, thena)


def test_timeouts_and_dropped_connections_are_retried(thena):
    thena.faults.add(Fault(delay=1.5), Fault(drop=True))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, request_timeout=0.5))
    _assert_complete(run, thena)
    assert "timed out" in run.stderr and "connection failed or was dropped" in run.stderr


def test_retry_budget_ends_the_run_with_a_clear_message(thena):
    thena.faults.add(*[Fault(status=429, retry_after="30")] * 3)
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, max_retry_wait=5))
    _assert_no_progress(run)
    assert "HTTP 429" in run.stderr
    assert f"GET {EXPORT}" in run.stderr
    assert "`max_retry_wait` = 5s" in run.stderr
    assert run.seconds < 20  # gave up instead of sleeping 30 s (generous: no timing flake)


def test_max_retries_ends_the_run_with_a_clear_message(thena):
    thena.faults.add(*[Fault(status=503)] * 5)
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, max_retries=2))
    _assert_no_progress(run)
    assert "Gave up after 3 attempts" in run.stderr
    assert f"HTTP 503 Service Unavailable from GET {EXPORT}" in run.stderr
    assert len(thena.calls(EXPORT)) == 3


def test_401_names_the_credential_setting_never_its_value(thena):
    wrong = "wrong-key-0123456789abcdef"
    run = run_tap("tap_thena", {**thena_config(thena, **ONE_WINDOW), "api_key": wrong})
    _assert_no_progress(run)
    assert (
        f"Thena refused the credentials (HTTP 401) for GET {EXPORT}: check the `api_key` setting."
        in run.stderr
    )
    assert wrong not in run.output
    assert len(thena.calls(EXPORT)) == 1  # not retried


def test_404_names_the_url_path(thena):
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, api_url=thena.url + "/api"))
    _assert_no_progress(run)
    assert f"HTTP 404 Not Found for GET /api{EXPORT}" in run.stderr
    assert "`workspace` and `api_url` settings" in run.stderr


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            "<html><head><title>502",
        ),
        # (A truncated JSON body is retried like a 5xx: tests/core/test_error_shapes.py.)
    ],
    ids=["html-error-page"],
)
def test_unparseable_body_names_endpoint_status_and_first_bytes(thena, body, shown):
    thena.faults.add(Fault(status=200, body=body))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    _assert_no_progress(run)
    assert f"Thena sent a body that is not valid JSON for GET {EXPORT} (HTTP 200" in run.stderr
    assert shown in run.stderr


def test_json_that_is_not_a_list_is_an_error(thena):
    thena.faults.add(Fault(status=200, body=b'{"message": "maintenance"}'))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    _assert_no_progress(run)
    assert (
        f"GET {EXPORT} (HTTP 200): expected a JSON list, found object{{message: string}}"
        in run.stderr
    )
    assert "maintenance" not in run.stderr  # a well-formed body is described, not quoted


def test_failure_in_a_later_window_keeps_earlier_windows_state(thena):
    thena.faults.add(Fault(status=401, skip=1))
    run = run_tap("tap_thena", thena_config(thena, start_date="2025-01-01", end_date="2025-01-15"))
    assert run.returncode != 0
    assert run.bookmark("requests") == "2025-01-08T00:00:00+00:00"


def test_secrets_never_reach_logs_or_errors(thena):
    # A server that echoes the request headers back in its error page.
    echo = f"<html>Bad request. Headers: Authorization: Bearer {API_KEY}</html>".encode()
    thena.faults.add(Fault(status=500, body=echo), Fault(status=400, body=echo))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, max_retries=3))
    assert run.returncode != 0
    assert "Thena rejected GET /v1/requests/exports with HTTP 400" in run.stderr
    assert "Authorization: ***</html>" in run.stderr  # the whole header value, scheme included
    assert API_KEY not in run.output


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"api_key": "k", "start_date": "2025-01-01"}, "Set `workspace`"),
        (
            {"api_key": "k", "start_date": "2025-01-01", "workspace": "https://acme.thena.ai"},
            "`workspace` must be a bare",
        ),
        (
            {"api_key": "k", "start_date": "2025-01-01", "workspace": "acme", "window_days": 0},
            "The setting `window_days` is invalid: 0 is less than the minimum of 1",
        ),
        ({"start_date": "2025-01-01", "workspace": "acme"}, "api_key"),
    ],
)
def test_bad_settings_are_named(config, message):
    run = run_tap("tap_thena", config)
    assert run.returncode != 0
    assert message in run.stderr


def test_bad_start_date_is_named(thena):
    run = run_tap("tap_thena", thena_config(thena, start_date="01/05/2025"))
    assert run.returncode != 0
    assert "start_date" in run.stderr


@pytest.mark.parametrize(
    ("api_url", "kind"),
    [
        ("http://127.0.0.1:9", "the connection was refused"),
        ("http://no-such-host.invalid", "the host name does not resolve"),
    ],
)
def test_an_unreachable_url_fails_fast_naming_the_url_settings(api_url, kind):
    config = {
        "api_key": API_KEY,
        "api_url": api_url,
        "start_date": "2025-01-01",
        "end_date": "2025-01-08",
        "retry_base_wait": 0.05,
    }
    run = run_tap("tap_thena", config)
    assert run.returncode != 0
    assert f"Gave up after 3 attempts: could not connect (GET {EXPORT}): {kind}." in run.stderr
    assert (
        f"Check the `workspace` and `api_url` settings (the base URL in use is {api_url})."
        in run.stderr
    )
    assert run.bookmark("requests") is None


# ---- issue 13: keys and bodies of shapes the export does not document ----------------------


def _export_body(*rows: dict) -> bytes:
    base = {"created_datetime": "01/02/2025 10:00", "customer_name": "Globex", "ai_tags": ["SSO"]}
    return json.dumps([{**base, **row} for row in rows]).encode()


def test_a_request_id_sent_as_a_number_with_a_fraction_of_zero_is_that_number(thena):
    thena.faults.add(
        Fault(status=200, body=_export_body({"request_id": 3292.0}, {"request_id": 17}))
    )
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    assert run.returncode == 0, run.stderr
    assert [r["request_id"] for r in run.records("requests")] == [3292, 17]
    assert run.bookmark("requests") == "2025-01-08T00:00:00+00:00"


@pytest.mark.parametrize("sent", ["1", "REQ-1", {"id": 1}], ids=["text", "prefixed", "object"])
def test_a_request_id_of_another_type_than_documented_is_refused_not_merged(thena, sent):
    # 1, "1" and "REQ-1" would share one key (an upserting target keeps one of them): Thena
    # documents a number, so anything else is refused, naming where it came.
    thena.faults.add(Fault(status=200, body=_export_body({"request_id": 1}, {"request_id": sent})))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    assert run.returncode != 0
    assert run.records("requests") == [] and run.bookmark("requests") is None
    assert f"Thena GET {EXPORT} (HTTP 200), item 1, `request_id`: expected request_id as a " in (
        run.stderr
    )
    assert "as two requests would share a key" in run.stderr


@pytest.mark.parametrize(
    ("row", "found"),
    [
        ({"request_id": {"ticket": "abc"}}, "found object{ticket: string}"),
        ({"request_id": "3292"}, 'found string "9999" (4 characters)'),
        ({"request_id": "abc"}, 'found string "aaa" (3 characters)'),
        ({"request_id": None}, "found null"),
        ({"request_id": [3292]}, "found list[1 × int]"),
        ({"request_id": True}, "found boolean"),
        ({"request_id": 3292.5}, "found number"),
        ({"id": 3292}, "expected a request object with request_id, found object{"),
    ],
    ids=["object", "numeric-text", "text", "null", "list", "boolean", "fraction", "missing"],
)
def test_a_request_id_that_cannot_be_read_fails_loudly_without_a_bookmark(thena, row, found):
    thena.faults.add(Fault(status=200, body=_export_body({"request_id": 1}, row)))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    assert run.returncode != 0
    assert run.bookmark("requests") is None, "state moved past a request that was not emitted"
    assert f"Thena GET {EXPORT} (HTTP 200), item 1" in run.stderr
    assert found in run.stderr
    if "id" not in row:
        assert "expected request_id as a number (3292)" in run.stderr
    assert "[2025-01-01T00:00:00+00:00, 2025-01-08T00:00:00+00:00); not bookmarked" in run.stderr
    assert "Globex" not in run.stderr  # shapes, never values


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (
            b'[1, "x"]',
            f"Thena GET {EXPORT} (HTTP 200), item 0: expected a request object, found int",
        ),
        (
            b'[{"request_id": 1}, "x"]',
            f"Thena GET {EXPORT} (HTTP 200), item 1: expected a request object, found string",
        ),
        (
            b'[[{"request_id": 1}]]',
            f"Thena GET {EXPORT} (HTTP 200), item 0: expected a request object, "
            "found list[1 × object",
        ),
        (
            b'{"requests": [], "next_cursor": "abc"}',
            "found object{requests: list[], next_cursor: string}",
        ),
        (b'"maintenance"', f"Thena GET {EXPORT} (HTTP 200): expected a JSON list, found string"),
        (b"null", f"Thena GET {EXPORT} (HTTP 200): expected a JSON list, found null"),
    ],
    ids=["number-and-text", "text-item", "nested-list", "envelope", "string", "null"],
)
def test_unexpected_body_shapes_name_the_endpoint_and_what_was_expected(thena, body, found):
    thena.faults.add(Fault(status=200, body=body))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW))
    _assert_no_progress(run)
    assert found in run.stderr
    assert "request object" in run.stderr
    assert "AttributeError" not in run.stderr and "TypeError" not in run.stderr


def test_requests_dated_outside_the_run_are_counted_not_dropped_silently(thena):
    # Thena filters on the creation date; rows it answers from outside the range asked are
    # emitted by no window of this run: one warning counts those before it, one note those
    # after its end (the next run's).
    body = _export_body(
        {"request_id": 1, "created_datetime": "01/02/2025 10:00"},
        {"request_id": 2, "created_datetime": "12/20/2024 10:00"},
        {"request_id": 3, "created_datetime": "12/21/2024 10:00"},
        {"request_id": 4, "created_datetime": "01/08/2025 10:00"},
    )
    thena.faults.add(Fault(status=200, body=body))
    run = run_tap("tap_thena", thena_config(thena, **ONE_WINDOW, window_days=7))
    assert run.returncode == 0, run.stderr
    assert [r["request_id"] for r in run.records("requests")] == [1]
    assert run.bookmark("requests") == "2025-01-08T00:00:00+00:00"
    assert (
        "Thena answered 2 record(s) of `requests` dated (`created_datetime`) before this run's "
        "range, which starts at 2025-01-01T00:00:00+00:00" in run.stderr
    )
    assert run.stderr.count("before this run's range") == 1
    assert (
        "1 record(s) of `requests` dated (`created_datetime`) at or after this run's end "
        "(2025-01-08T00:00:00+00:00) were not emitted; the next run emits them." in run.stderr
    )
