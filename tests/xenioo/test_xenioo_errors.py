"""Error paths: bad settings, wrong bot keys, transient failures, broken bodies - and no secret in
any of it."""

from __future__ import annotations

import json

import pytest
from kit_xenioo import ACCOUNT_KEY, BOT_SETTINGS, answer_account_calls, simulator, xenioo_config
from singer_sdk.exceptions import ConfigValidationError
from tap_runner import run_tap

from support_simulators.framework import Fault
from tap_xenioo.tap import TapXenioo

ACCOUNT = "/analytics/statistics/account/"
BOT = "/analytics/statistics/bot/"
SECRETS = (ACCOUNT_KEY, *(bot["api_key"] for bot in BOT_SETTINGS))


def _no_secrets(run, sim=None) -> None:
    text = run.stdout + run.stderr
    for secret in (*SECRETS, *(sim.issued_tokens if sim else ())):
        assert secret not in text


BASE = {"account_api_key": ACCOUNT_KEY, "auth_url": "http://127.0.0.1:9", "bots": BOT_SETTINGS}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"types": [3, 18]}, "The setting `types` is invalid (item 2): 18 is greater than"),
        ({"bot_types": [19]}, "The setting `bot_types` is invalid (item 1): 19 is greater than"),
        ({"types": []}, "`types` must list statistic type codes"),
        ({"group_mode": "week"}, "The setting `group_mode` is invalid: 'week' is not one of"),
        ({"account_bot": "marketing"}, "`account_bot` must be the name of a bot in `bots`"),
        ({"auth_url": "xenioo.example"}, "`auth_url` must be an http(s) URL"),
        ({"auth_url": None}, "auth_url"),
        ({"api_url": "ftp://x"}, "`api_url` must be an http(s) URL"),
        (
            {
                "bots": [
                    {"name": "a", "api_key": "k1-long-key"},
                    {"name": "a", "api_key": "k2-long-key"},
                ]
            },
            "names in `bots` must be unique",
        ),
        ({"bot_statistics_path": "/analytics/statistics/bot/{TYPES}"}, "`bot_statistics_path`"),
    ],
)
def test_bad_settings_are_named(overrides, message):
    config = {k: v for k, v in {**BASE, **overrides}.items() if v is not None}
    with pytest.raises(ConfigValidationError) as caught:
        TapXenioo(config=config)
    text = str(caught.value) + " ".join(getattr(caught.value, "errors", []) or [])
    assert message in text
    for secret in SECRETS:
        assert secret not in text


def _run_answering(xenioo, body: bytes, **settings):
    """A run in which every account-statistics call answers 200 with `body`."""
    answer_account_calls(xenioo, 200, body)
    return run_tap("tap_xenioo", xenioo_config(xenioo, **settings))


def test_the_checks_are_the_cores_setting_errors_hook():
    # The core runs setting_errors() once, before the first request (and not when
    # validation is off, e.g. for --about); the tap only adds its own checks to it.
    config = {**BASE, "account_bot": "marketing", "start_date": "not-a-date"}
    tap = TapXenioo(config=config, validate_config=False)
    errors = tap.setting_errors()
    assert any("`account_bot` must be the name of a bot" in e for e in errors)
    assert any("start_date" in e for e in errors), "the core's own checks were not kept"


def test_bad_settings_fail_the_cli_run(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo, group_mode="fortnight"))
    assert run.returncode != 0
    assert "group_mode" in run.stderr
    assert not xenioo.calls()


def test_an_unknown_bot_key_names_the_bot_not_the_key():
    with simulator() as sim:
        bots = [BOT_SETTINGS[0], {"name": "retired", "api_key": "xb-retired-bot-key-77aa19"}]
        run = run_tap("tap_xenioo", xenioo_config(sim, bots=bots))
        assert run.returncode != 0
        assert "HTTP 404 Not Found for GET /analytics/statistics/bot/***/" in run.stderr
        assert "(bot 'retired')" in run.stderr and "`bots`" in run.stderr
        assert "xb-retired-bot-key-77aa19" not in run.stdout + run.stderr
        _no_secrets(run, sim)


def test_a_wrong_bot_statistics_path_is_a_clear_404(xenioo):
    run = run_tap(
        "tap_xenioo", xenioo_config(xenioo, bot_statistics_path="/analytics/bot/{APIKEY}/{TYPES}")
    )
    assert run.returncode != 0
    assert "HTTP 404 Not Found for GET /analytics/bot/***/" in run.stderr
    _no_secrets(run, xenioo)


def test_server_errors_and_dropped_connections_are_retried(xenioo):
    xenioo.faults.add(
        Fault(status=503, path_prefix=ACCOUNT),
        Fault(drop=True, path_prefix=ACCOUNT),
        Fault(status=500, retry_after="0", path_prefix=BOT),
    )
    config = xenioo_config(xenioo)
    run = run_tap("tap_xenioo", config)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("Retrying in") == 3
    for stream, (_, keys) in xenioo.expected_primary_keys(config).items():
        assert len(run.records(stream)) == len(keys), stream
    _no_secrets(run, xenioo)


def test_persistent_server_errors_stop_with_a_message_and_keep_earlier_state(xenioo):
    xenioo.faults.add(*[Fault(status=503, path_prefix=BOT) for _ in range(3)])
    run = run_tap("tap_xenioo", xenioo_config(xenioo, max_retries=2))
    assert run.returncode != 0
    assert "HTTP 503" in run.stderr and "GET /analytics/statistics/bot/***/" in run.stderr
    # account_statistics finished before: its bookmark and call time were saved.
    account = (run.final_state or {})["bookmarks"]["account_statistics"]
    assert account["replication_key_value"] and account["last_called_at"]
    _no_secrets(run, xenioo)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>Gateway error</body></html>", "not valid JSON"),
        # (A truncated JSON body is retried like a 5xx: tests/core/test_error_shapes.py.)
        (b'{"Message": "ok"}', "expected a JSON list, found object{Message: string}"),
        (
            b"[1, 2]",
            "item 0 of 2: expected statistics objects with GroupLabel, BotName, ChannelName and "
            "EventLabel, found int. The array holds list[2 × int].",
        ),
    ],
)
def test_broken_bodies_are_reported(xenioo, body, expected):
    run = _run_answering(xenioo, body)
    assert run.returncode != 0
    assert expected in run.stderr
    assert "GET /analytics/statistics/account/*/" in run.stderr
    _no_secrets(run, xenioo)


def test_secrets_in_a_body_are_masked_in_errors_and_records(xenioo):
    key = BOT_SETTINGS[0]["api_key"]
    echo = (
        '[{"GroupLabel": "2025-01-01", "BotName": "Support", "ChannelName": "Web", '
        f'"EventLabel": "Messages", "Type": 3, "Value": 1, "BotKey": "{key}"}}]'
    )
    xenioo.faults.add(
        Fault(status=200, body=echo.encode(), path_prefix=ACCOUNT),
        Fault(status=400, body=f'{{"Message": "bad key {key}"}}'.encode(), path_prefix=BOT),
    )
    run = run_tap("tap_xenioo", xenioo_config(xenioo, start_date="2020-01-01"))
    assert run.returncode != 0
    assert "bad key ***" in run.stderr
    (record,) = [r for r in run.records("account_statistics")]
    assert record["raw"]["BotKey"] == "***"
    _no_secrets(run, xenioo)


def test_a_group_label_that_is_not_a_date_is_kept_with_a_warning(xenioo):
    body = (
        b'[{"GroupLabel": "Week 3", "BotName": "Support", "ChannelName": "Web", '
        b'"EventLabel": "Messages"}]'
    )
    run = _run_answering(xenioo, body, types=[3])
    assert run.returncode == 0, run.stderr
    (record,) = run.records("account_statistics")
    assert record["period_start"] is None and record["group_label"] == "Week 3"
    # Without `Type`, the label names the statistic type.
    assert (record["stat_type_code"], record["stat_type_name"]) == (3, "Messages")
    assert "GroupLabel that is not a date, 'Week 3'" in run.stderr


def test_a_bot_endpoint_that_keeps_dropping_the_connection_fails_without_showing_the_key(xenioo):
    xenioo.faults.add(*[Fault(drop=True, path_prefix=BOT) for _ in range(3)])
    run = run_tap("tap_xenioo", xenioo_config(xenioo, max_retries=1))
    assert run.returncode != 0
    assert "the connection failed or was dropped" in run.stderr
    _no_secrets(run, xenioo)


def test_a_well_formed_array_of_the_wrong_shape_is_described_not_quoted(xenioo):
    body = (
        b'[{"GroupLabel": "2025-01-01", "BotName": "Shop", "ChannelName": "Web", '
        b'"EventLabel": "Messages"}, "alice@example.com"]'
    )
    run = _run_answering(xenioo, body)
    assert run.returncode != 0
    assert "Xenioo GET /analytics/statistics/account/*/" in run.stderr
    assert (
        "(HTTP 200), item 1 of 2: expected statistics objects with GroupLabel, BotName, "
        "ChannelName and EventLabel, found string. The array holds list[1 × "
        "object{GroupLabel: string, BotName: string, ChannelName: string, EventLabel: string}, "
        "1 × string]."
    ) in run.stderr
    assert "alice@example.com" not in run.stderr


@pytest.mark.parametrize("left_out", ["GroupLabel", "BotName", "ChannelName", "EventLabel"])
def test_an_account_object_without_a_published_field_is_an_error_naming_the_endpoint(
    xenioo, left_out
):
    """Xenioo publishes the account statistics object: one without a field of it (all are key
    columns) is an error naming the endpoint and the fields found, never a row keyed by ""."""
    published = {
        "GroupLabel": "2025-01-01",
        "BotName": "Support",
        "ChannelName": "Web",
        "EventLabel": "Messages",
        "Value": 1,
    }
    body = json.dumps([{k: v for k, v in published.items() if k != left_out}]).encode()
    run = _run_answering(xenioo, body, types=[3])
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert "Xenioo sent a row of GET /analytics/statistics/account/*/" in last
    found = ", ".join(sorted(k for k in published if k != left_out))
    assert last.endswith(
        f"(HTTP 200), item 0 of 1 without {left_out}, which Xenioo documents as its key. "
        f"Columns found: {found}."
    )
    assert run.records("account_statistics") == []
    assert run.bookmark("account_statistics") is None


def test_bot_rows_without_a_field_we_key_by_land_keyed_by_the_whole_row(xenioo):
    # Xenioo publishes no bot statistics object: its key fields are our reading. Rows without
    # one land, that column holding a stable hash of the whole row, with one warning.
    body = (
        b'[{"GroupLabel": "2025-01-01", "BotName": "Shop", "EventLabel": "Messages", "Value": 1},'
        b' {"GroupLabel": "2025-01-01", "BotName": "Shop", "EventLabel": "Messages", "Value": 2}]'
    )
    xenioo.faults.add(Fault(status=200, body=body, path_prefix=BOT))
    runs = [run_tap("tap_xenioo", xenioo_config(xenioo, bots=BOT_SETTINGS[:1]))]
    assert runs[0].returncode == 0, runs[0].stderr
    channels = [r["channel_name"] for r in runs[0].records("bot_statistics")]
    assert len(channels) == 2 and len(set(channels)) == 2
    assert all(c.startswith("row ") for c in channels)
    assert runs[0].stderr.count("without ChannelName, the key this tap reads it by") == 1
    xenioo.faults.add(Fault(status=200, body=body, path_prefix=BOT))
    again = run_tap("tap_xenioo", xenioo_config(xenioo, bots=BOT_SETTINGS[:1]), state=None)
    assert [r["channel_name"] for r in again.records("bot_statistics")] == channels  # stable
