"""Every record names its account (issue 20): `_account_id`, written by the core on every record
of every stream, first in every key and schema, with no code in any stream.

A tiny tap that declares nothing about accounts shows the core does it all; then every stream
of every tap of the collection, discovered from the taps themselves against their simulators;
and two accounts of each vendor, loaded into the same tables, keep every row of both.
"""

from __future__ import annotations

import gzip
import json
import typing as t
from urllib.parse import urlsplit

import kit_dixa
import kit_thankful
import kit_thena
import pytest
from kit_dixa import dixa_config
from kit_khoros import khoros_config, khoros_simulator
from kit_thankful import thankful_config
from kit_thena import thena_config
from kit_xenioo import simulator as xenioo_simulator
from kit_xenioo import xenioo_config
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator
from support_simulators.thankful import ThankfulSimulator
from support_simulators.thena import ThenaSimulator
from support_taps.accounts import ACCOUNT_KEY
from support_taps.settings import COMMON_SETTINGS, START_END_SETTINGS, known_settings
from support_taps.stream import SupportStream
from support_taps.tap import SupportTap
from tap_thena.tap import TapThena

ROWS = [{"id": n, "name": f"event {n}"} for n in range(1, 6)]


class EventsStream(SupportStream):
    name = "events"
    path = "/events"
    primary_keys = ("id",)
    schema: t.ClassVar[dict] = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
    ).to_dict()

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        return [dict(row) for row in ROWS]


class KeyedInInitStream(EventsStream):
    """Sets its key in `__init__`, after the SDK's (as Thankful's and Khoros's streams do)."""

    name = "keyed_in_init"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.primary_keys = ("id", "name")


class QuietTap(SupportTap):
    """A tap that says nothing about accounts: no setting, nothing in its streams."""

    name = "tap-quiet"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, default="http://127.0.0.1:9"),
        *START_END_SETTINGS,
        *COMMON_SETTINGS,
    ).to_dict()

    def discover_streams(self) -> list[SupportStream]:
        return [EventsStream(self), KeyedInInitStream(self)]


def _tap(**config: t.Any) -> QuietTap:
    return QuietTap(config={"start_date": "2025-01-01", **config}, parse_env_config=False)


def _sync(tap: SupportTap, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    tap.sync_all()
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_every_tap_takes_account_id_even_one_that_does_not_declare_it():
    assert "account_id" in known_settings(QuietTap)
    assert "account_id" in QuietTap._get_about_info().settings["properties"]  # --about
    assert _tap(account_id="acme").account_id == "acme"
    assert _tap().account_id == "default"  # no vendor identifier: the documented default


@pytest.mark.parametrize("account", [None, "acme-eu"])
def test_every_record_carries_its_account_first_in_key_and_schema(capsys, account):
    tap = _tap(**({"account_id": account} if account else {}))
    messages = _sync(tap, capsys)
    schemas = {m["stream"]: m for m in messages if m["type"] == "SCHEMA"}
    assert schemas["events"]["key_properties"] == ["_account_id", "id"]
    assert schemas["keyed_in_init"]["key_properties"] == ["_account_id", "id", "name"]
    for schema in schemas.values():
        properties = schema["schema"]["properties"]
        assert next(iter(properties)) == ACCOUNT_KEY
        assert properties[ACCOUNT_KEY] == {"type": ["string"]}  # never null: part of the key
    records = [m for m in messages if m["type"] == "RECORD"]
    assert len(records) == 2 * len(ROWS)
    assert {r["record"][ACCOUNT_KEY] for r in records} == {account or "default"}
    # The discovered catalog says the same, and the account is never deselected.
    for entry in tap.catalog_dict["streams"]:
        assert entry["key_properties"][0] == ACCOUNT_KEY
        [metadata] = [
            m for m in entry["metadata"] if m["breadcrumb"] == ["properties", ACCOUNT_KEY]
        ]
        assert metadata["metadata"]["inclusion"] == "automatic"


def test_a_catalog_from_an_earlier_release_gets_the_account_too(capsys):
    """A catalog kept from before the account (Meltano's cache, one kept by hand): the SCHEMA
    messages built from it name the account, as the records do."""
    catalog = _tap().catalog_dict
    for entry in catalog["streams"]:
        entry["key_properties"] = entry["key_properties"][1:]
        del entry["schema"]["properties"][ACCOUNT_KEY]
        entry["metadata"] = [
            m for m in entry["metadata"] if m["breadcrumb"] != ["properties", ACCOUNT_KEY]
        ]
        for m in entry["metadata"]:
            if m["breadcrumb"] == []:
                m["metadata"]["selected"] = True
                m["metadata"]["table-key-properties"] = entry["key_properties"]
    assert all(ACCOUNT_KEY not in json.dumps(e) for e in catalog["streams"])
    tap = QuietTap(
        config={"start_date": "2025-01-01", "account_id": "acme"},
        catalog=catalog,
        parse_env_config=False,
    )
    messages = _sync(tap, capsys)
    schemas = {m["stream"]: m for m in messages if m["type"] == "SCHEMA"}
    assert schemas["events"]["key_properties"] == ["_account_id", "id"]
    assert ACCOUNT_KEY in schemas["events"]["schema"]["properties"]
    assert {m["record"][ACCOUNT_KEY] for m in messages if m["type"] == "RECORD"} == {"acme"}


def test_batch_files_and_flattened_records_carry_the_account(capsys, tmp_path):
    batch = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": tmp_path.as_uri(), "prefix": "batch-"},
    }
    messages = _sync(_tap(account_id="acme", batch_config=batch), capsys)
    rows = []
    for message in (m for m in messages if m["type"] == "BATCH"):
        for uri in message["manifest"]:
            with gzip.open(urlsplit(uri).path, "rt") as handle:
                rows += [json.loads(line) for line in handle if line.strip()]
    assert len(rows) == 2 * len(ROWS) and {r[ACCOUNT_KEY] for r in rows} == {"acme"}

    flat = _sync(_tap(account_id="acme", flattening_enabled=True, flattening_max_depth=2), capsys)
    assert {m["record"][ACCOUNT_KEY] for m in flat if m["type"] == "RECORD"} == {"acme"}


@pytest.mark.parametrize("value", [" acme", "acme\n", ""])
def test_an_account_id_with_spaces_around_it_or_empty_is_refused(value):
    with pytest.raises(ConfigValidationError) as caught:
        _tap(account_id=value)
    assert "`account_id`" in " ".join(caught.value.errors)


@pytest.mark.parametrize(
    ("config", "account"),
    [
        ({"workspace": "acme"}, "acme"),
        ({"api_url": "https://globex.thena.ai"}, "globex"),
        ({"workspace": "acme", "api_url": "http://127.0.0.1:9"}, "acme"),
        ({"api_url": "http://127.0.0.1:9"}, "default"),  # a simulator names no workspace
        ({"workspace": "acme", "account_id": "acme-eu"}, "acme-eu"),
    ],
)
def test_thena_names_the_account_by_its_workspace(config, account):
    tap = TapThena(
        config={"api_key": "k", "start_date": "2025-01-01", **config}, parse_env_config=False
    )
    assert tap.account_id == account
    # The simulator agrees, so every key check compares the same accounts.
    assert ThenaSimulator().default_account(config) == account or "account_id" in config


#: Each tap, its simulator (with the kit's credentials) and a config for it; discovery reads
#: the taps' own streams.
TAPS: dict[str, tuple[t.Callable[[], t.Any], t.Callable[..., dict]]] = {
    "tap_thankful": (lambda: ThankfulSimulator(api_key=kit_thankful.API_KEY), thankful_config),
    "tap_dixa": (
        lambda: DixaSimulator(
            api_token=kit_dixa.API_TOKEN, conversations_per_day=kit_dixa.FEW_CONVERSATIONS
        ),
        dixa_config,
    ),
    "tap_thena": (lambda: ThenaSimulator(api_key=kit_thena.API_KEY), thena_config),
    "tap_xenioo": (xenioo_simulator, xenioo_config),
    "tap_khoros_care": (khoros_simulator, khoros_config),
}


@pytest.mark.parametrize("module", list(TAPS))
def test_every_stream_of_every_tap_is_keyed_by_its_account(module):
    simulator, config_of = TAPS[module]
    with simulator() as sim:
        found = run_tap(module, {**config_of(sim), "account_id": "acme"}, args=("--discover",))
    assert found.returncode == 0, found.stderr
    streams = json.loads(found.stdout)["streams"]
    assert streams
    for entry in streams:
        assert entry["key_properties"][0] == ACCOUNT_KEY, entry["tap_stream_id"]
        assert ACCOUNT_KEY not in entry["key_properties"][1:], entry["tap_stream_id"]
        assert next(iter(entry["schema"]["properties"])) == ACCOUNT_KEY, entry["tap_stream_id"]


def _load(tables: dict[str, dict[tuple, dict]], messages: list[dict]) -> None:
    """What a target does with a run's Singer messages: a table per stream, keyed by the key
    its SCHEMA message names, each RECORD upserted on that key (a later row with the same key
    replaces the earlier one)."""
    keys: dict[str, list[str]] = {}
    for message in messages:
        if message["type"] == "SCHEMA":
            keys[message["stream"]] = message["key_properties"]
        elif message["type"] == "RECORD":
            record = message["record"]
            key = tuple(json.dumps(record[column]) for column in keys[message["stream"]])
            tables.setdefault(message["stream"], {})[key] = record


@pytest.mark.parametrize("module", list(TAPS))
def test_two_accounts_in_the_same_tables_keep_both_rows_of_one_vendor_id(module):
    """Two accounts of one vendor whose ids coincide (two simulators with the same data), run
    one after the other into the same tables: every row of each stays, side by side."""
    simulator, config_of = TAPS[module]
    runs = {}
    for account in ("acme", "globex"):
        with simulator() as sim:
            runs[account] = run_tap(module, {**config_of(sim), "account_id": account})
        assert runs[account].returncode == 0, runs[account].stderr
    tables: dict[str, dict[tuple, dict]] = {}
    for run in runs.values():
        _load(tables, run.messages)
    assert runs["acme"].records()
    for stream, schema in runs["acme"].schemas().items():
        # The vendor's own key of each row one account delivered: both accounts deliver it.
        vendor_key = [column for column in schema["key_properties"] if column != ACCOUNT_KEY]
        vendor_keys = {
            tuple(json.dumps(record[column]) for column in vendor_key)
            for record in runs["acme"].records(stream)
        }
        table = tables.get(stream, {})
        assert len(table) == 2 * len(vendor_keys), f"{stream}: rows of one account overwritten"
        by_account: dict[str, set[tuple]] = {}
        for row in table.values():
            by_account.setdefault(row[ACCOUNT_KEY], set()).add(
                tuple(json.dumps(row[column]) for column in vendor_key)
            )
        if vendor_keys:
            assert by_account == {"acme": vendor_keys, "globex": vendor_keys}, stream
