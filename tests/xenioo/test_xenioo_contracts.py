"""What Xenioo publishes (tests/contracts/xenioo/), fed through the tap's real parsing path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kit_xenioo import ACCOUNT_KEY, primary_keys, simulator, xenioo_config
from tap_runner import run_tap

from support_simulators.framework import Fault
from tap_xenioo.client import STATISTIC_TYPES
from tap_xenioo.streams import STATISTICS_KEY, AccountStatisticsStream, DlrStatisticsStream
from tap_xenioo.tap import TapXenioo

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "xenioo"
ACCOUNT = "/analytics/statistics/account/"
DLR = "/analytics/statistics/dlr/account/"


def contract(name: str) -> bytes:
    return (CONTRACTS / name).read_bytes()


def test_every_contract_names_its_source():
    files = [p for p in CONTRACTS.iterdir() if not p.name.endswith(".source")]
    assert len(files) >= 6
    for path in files:
        source = (CONTRACTS / (path.name + ".source")).read_text()
        assert re.search(r"^Source: https://docs(10)?\.xenioo\.com/\S+$", source, re.MULTILINE), (
            path.name
        )


def _published_path(name: str) -> str:
    """The path of the URL in a published curl example, placeholders as {NAME}."""
    url = re.search(r"'(https://publicapi\.xenioo\.com[^']+)'", contract(name).decode()).group(1)
    return re.sub(r"<([A-Z]+)>", r"{\1}", url.removeprefix("https://publicapi.xenioo.com"))


def test_the_statistics_paths_are_the_published_ones():
    assert AccountStatisticsStream.statistics_path == _published_path(
        "account_statistics_request.txt"
    )
    assert DlrStatisticsStream.statistics_path == _published_path("dlr_statistics_request.txt")


def test_the_calls_follow_the_published_requests():
    with simulator() as sim:
        run = run_tap("tap_xenioo", xenioo_config(sim, bots=None))
        assert run.returncode == 0, run.stderr
        # POST <SERVICE ENDPOINT>/authorization/integration with {"AccountAPIKey": ...} (the
        # simulator answers 400 without it), then GETs with the account token as Bearer.
        assert "/authorization/integration" in _published_path_of_post()
        (token_call,) = sim.calls("/authorization/integration")
        assert (token_call.method, token_call.status) == ("POST", 200)
        for name, prefix in (
            ("account_statistics_request.txt", ACCOUNT),
            ("dlr_statistics_request.txt", DLR),
        ):
            pattern = re.escape(_published_path(name)).replace(r"\{APIKEY\}", r"\*")
            pattern = re.sub(r"\\\{[A-Z]+\\\}", "[^/]+", pattern)
            (call,) = sim.calls(prefix)
            assert re.fullmatch(pattern, call.path), (call.path, pattern)
            assert call.headers["Authorization"] == f"Bearer {sim.issued_tokens[0]}"
            assert call.headers["Content-Type"] == "application/json"


def _published_path_of_post() -> str:
    text = contract("authorization_request.txt").decode()
    assert '"AccountAPIKey":"<Account API Key>"' in text
    return re.search(r"--request POST '([^']+)'", text).group(1)


@pytest.mark.parametrize(
    "name", ["authorization_response.json", "authorization_response_docs10.json"]
)
def test_the_published_token_answers_are_read(name):
    with simulator() as sim:
        sim.faults.add(
            Fault(status=200, body=contract(name), path_prefix="/authorization/integration")
        )
        tap = TapXenioo(config=xenioo_config(sim), validate_config=True)
        authenticator = tap.xenioo_authenticator
        authenticator.update_access_token()
        assert authenticator.access_token == "dmO/lbiq5FN+oyrAF3BLhdo[...]"
        assert authenticator.expires_in == 60 * 60  # "Expires": 60 minutes
        assert ACCOUNT_KEY not in authenticator.access_token


def test_the_published_statistics_example_lands_whole_with_a_complete_key():
    published = contract("account_statistics_response.json")
    with simulator() as sim:
        sim.faults.add(Fault(status=200, body=published, path_prefix=ACCOUNT))
        run = run_tap("tap_xenioo", xenioo_config(sim, bots=None))
    assert run.returncode == 0, run.stderr
    (record,) = run.records("account_statistics")
    assert record["raw"] == {
        "GroupLabel": "...",
        "BotName": "...",
        "ChannelName": "...",
        "EventLabel": "...",
    }
    assert (
        record["group_label"],
        record["bot_name"],
        record["channel_name"],
        record["event_label"],
    ) == ("...", "...", "...", "...")
    # "..." names no documented type and the call asked for all 18: kept, keyed, and said.
    assert (record["stat_type_code"], record["stat_type_name"]) == (-1, None)
    assert all(record[column] is not None for column in STATISTICS_KEY)
    assert record["period_start"] is None and record["value"] is None
    assert (
        "1 rows have an EventLabel that is not a statistic type Xenioo documents ('...')"
        in run.stderr
    )
    assert "Set `types` to one type code" in run.stderr
    assert "GroupLabel that is not a date, '...'" in run.stderr
    assert primary_keys(run, "account_statistics") == {
        ("default", "*", -1, "day", "...", "...", "...", "...")
    }


def test_the_published_example_is_typed_when_the_call_asked_for_one_type():
    with simulator() as sim:
        sim.faults.add(
            Fault(
                status=200, body=contract("account_statistics_response.json"), path_prefix=ACCOUNT
            )
        )
        run = run_tap("tap_xenioo", xenioo_config(sim, bots=None, types=[12]))
        assert run.returncode == 0, run.stderr
        assert sim.calls(ACCOUNT)[0].path.startswith(ACCOUNT + "*/12/day/")
    (record,) = run.records("account_statistics")
    assert (record["stat_type_code"], record["stat_type_name"]) == (12, "Goal Reached")
    assert "not a statistic type Xenioo documents" not in run.stderr


def _published_types(text: str) -> dict[int, str]:
    return {
        int(code): name
        for name, code in re.findall(r"^([A-Za-z ]+?) \| (\d+) \|$", text, re.MULTILINE)
    }


def test_the_type_names_are_the_published_ones():
    # /work/shared/vendor-docs/xenioo-account-statistics.txt is the verbatim page; its table is
    # copied into the contract with the bot page's extra row (Tag Hit, 18).
    account = _published_types(contract("statistic_types_account.txt").decode())
    bot = _published_types(contract("statistic_types_bot.txt").decode())
    assert account == {code: name for code, name in STATISTIC_TYPES.items() if code <= 17}
    assert bot == STATISTIC_TYPES


@pytest.mark.parametrize(
    "label", ["New User", "new user", "NEW USER", "New  User", "Tag Hit", "Operator Message"]
)
def test_a_label_that_is_a_published_type_name_gives_the_type(label):
    published = (
        f'[{{"GroupLabel":"2024-05-02","BotName":"Shop","ChannelName":"Web",'
        f'"EventLabel":"{label}","Value":4}}]'
    ).encode()
    bot = label.lower().replace(" ", "") == "taghit"
    with simulator() as sim:
        sim.faults.add(
            Fault(
                status=200,
                body=published,
                path_prefix="/analytics/statistics/bot/" if bot else ACCOUNT,
            )
        )
        config = xenioo_config(sim) if bot else xenioo_config(sim, bots=None)
        run = run_tap("tap_xenioo", config)
    assert run.returncode == 0, run.stderr
    stream = "bot_statistics" if bot else "account_statistics"
    record = next(r for r in run.records(stream) if r["bot_name"] == "Shop")
    names = {" ".join(n.lower().split()): c for c, n in STATISTIC_TYPES.items()}
    assert record["stat_type_code"] == names[" ".join(label.lower().split())]
    assert record["stat_type_name"] == STATISTIC_TYPES[record["stat_type_code"]]
    assert record["value"] == 4


def test_the_unpublished_type_field_alone_does_not_type_a_row():
    body = (
        b'[{"GroupLabel":"2024-05-02","BotName":"Shop","ChannelName":"Web",'
        b'"EventLabel":"Greeting","Type":6}]'
    )
    with simulator() as sim:
        sim.faults.add(Fault(status=200, body=body, path_prefix=ACCOUNT))
        run = run_tap("tap_xenioo", xenioo_config(sim, bots=None, types=[3, 6]))
    assert run.returncode == 0, run.stderr
    (record,) = run.records("account_statistics")
    assert record["stat_type_code"] == -1 and record["raw"]["Type"] == 6
    assert "kept with stat_type_code -1" in run.stderr


def test_a_run_against_the_older_token_spelling_delivers_the_same_keys():
    with simulator(token_keys=("Token", "Expires"), throttle=False) as sim:
        config = xenioo_config(sim, types=[0, 3], bot_types=[18])
        run = run_tap("tap_xenioo", config)
        expected = sim.expected_primary_keys(config)
    assert run.returncode == 0, run.stderr
    assert "valid for 60 minutes" in run.stderr
    for stream, (_, keys) in expected.items():
        assert primary_keys(run, stream) == keys, stream
