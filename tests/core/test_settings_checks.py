"""Every tap: a misspelt setting, a URL without a scheme, an impossible number or a start date in
the future is a one-line error naming the setting, raised before any request."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_dixa.tap import TapDixa
from tap_khoros_care.tap import TapKhorosCare
from tap_thankful.tap import TapThankful
from tap_thena.tap import TapThena
from tap_xenioo.tap import TapXenioo

# Unreachable on purpose (port 9 discards): a check that let a bad config through would
# fail on the connection instead, with another message.
NOWHERE = "http://127.0.0.1:9"
BASE = {
    TapThena: {"api_key": "k-0123456789", "api_url": NOWHERE, "start_date": "2025-01-01"},
    TapThankful: {"api_key": "k-0123456789", "api_url": NOWHERE, "start_date": "2025-01-01"},
    TapDixa: {"api_token": "k-0123456789", "api_url": NOWHERE, "start_date": "2025-01-01"},
    TapXenioo: {
        "account_api_key": "k-0123456789",
        "auth_url": NOWHERE,
        "api_url": NOWHERE,
        "bots": [{"name": "support", "api_key": "b-0123456789"}],
    },
    TapKhorosCare: {
        "username": "ann",
        "password": "p-0123456789",
        "company_key": "c-0123456789",
        "api_url": NOWHERE,
        "start_date": "2025-01-01",
    },
}


def _cases():
    for tap, base in BASE.items():
        url_settings = [
            name for name in tap.config_jsonschema["properties"] if name.endswith("_url")
        ]
        if "end_date" in tap.config_jsonschema["properties"]:
            yield (
                tap,
                {**base, "end_dat": "2025-02-01"},
                "Unknown setting `end_dat`. Did you mean `end_date`?",
            )
        else:
            yield tap, {**base, "end_dat": "2025-02-01"}, "Unknown setting `end_dat`. (`--about`"
        yield (
            tap,
            {**base, "max_retrys": 3},
            "Unknown setting `max_retrys`. Did you mean `max_retries`?",
        )
        for name in url_settings:
            yield (
                tap,
                {**base, name: "127.0.0.1:9000"},
                f"The setting `{name}` must be an http(s) URL",
            )
        yield (
            tap,
            {**base, "request_timeout": 0},
            "The setting `request_timeout` is invalid: 0 is less than",
        )
        yield (
            tap,
            {**base, "max_retries": -1},
            "The setting `max_retries` is invalid: -1 is less than",
        )
        if "start_date" in tap.config_jsonschema["properties"]:
            yield (
                tap,
                {**base, "start_date": "2099-01-01"},
                "The setting `start_date` (2099-01-01T00:00:00+00:00) is in the future",
            )


@pytest.mark.parametrize(
    ("tap", "config", "message"),
    list(_cases()),
    ids=lambda v: v.name if isinstance(v, type) else None,
)
def test_bad_settings_are_named(tap, config, message):
    with pytest.raises(ConfigValidationError) as raised:
        tap(config=config)
    assert any(error.startswith(message) for error in raised.value.errors), raised.value.errors


@pytest.mark.parametrize("tap", list(BASE), ids=lambda tap: tap.name)
def test_about_shows_each_url_setting_as_an_http_url(tap):
    """`--about` (what Meltano and the Hub show) says a URL setting takes an http(s) URL (a
    format and a pattern, which the SDK's schema check enforces); a URL that fails it is one line
    naming the setting, once, worded as the core's own check."""
    about = subprocess.run(
        [sys.executable, "-c", f"from {tap.__module__} import {tap.__name__} as T; T.cli()"]
        + ["--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    properties = json.loads(about.stdout)["settings"]["properties"]
    urls = {name: p for name, p in properties.items() if name.endswith("_url")}
    assert urls, properties.keys()
    for name, schema in urls.items():
        assert schema["format"] == "uri" and schema["pattern"] == "^https?://[^/?#]+", name
    for name in urls:
        with pytest.raises(ConfigValidationError) as raised:
            tap(config={**BASE[tap], name: "api.example.com/v1"})
        assert raised.value.errors == [
            f"The setting `{name}` must be an http(s) URL with a host, such as "
            "https://api.example.com, got 'api.example.com/v1'."
        ]


@pytest.mark.parametrize("tap", list(BASE), ids=lambda tap: tap.name)
def test_a_url_matching_the_pattern_passes(tap):
    """Loopback http URLs (the simulators'), https with a path or a port: the schema (which the
    SDK checks the config against) takes them."""
    schema = tap.config_jsonschema
    validator = jsonschema.validators.validator_for(schema)(schema)
    urls = [n for n in schema["properties"] if n.endswith("_url")]
    for value in (
        "http://127.0.0.1:49152",
        "http://127.0.0.1:49153/api/public",
        "https://api.example.com:8443/v1/",
        "http://localhost",
    ):
        config = {**BASE[tap], **dict.fromkeys(urls, value)}
        assert not [e.message for e in validator.iter_errors(config)], value


@pytest.mark.parametrize("tap", list(BASE), ids=lambda tap: tap.name)
def test_a_bad_url_does_not_hide_the_other_bad_settings(tap):
    """The schema check refuses the URL; the tap's own checks still run: every problem at once,
    each setting named once."""
    name = next(n for n in tap.config_jsonschema["properties"] if n.endswith("_url"))
    config = {**BASE[tap], name: "ftp://files.example.com", "request_timout": 5}
    config["max_retries"] = -1
    with pytest.raises(ConfigValidationError) as raised:
        tap(config=config)
    errors = raised.value.errors
    assert sorted(errors) == sorted(
        [
            f"The setting `{name}` must be an http(s) URL with a host, such as "
            "https://api.example.com, got 'ftp://files.example.com'.",
            "The setting `max_retries` is invalid: -1 is less than the minimum of 0.",
            "Unknown setting `request_timout`. Did you mean `request_timeout`? (`--about` lists "
            "the settings.)",
        ]
    ), errors


def test_the_schema_documents_the_ranges():
    properties = TapThena.config_jsonschema["properties"]
    assert properties["request_timeout"]["exclusiveMinimum"] == 0
    assert properties["max_retries"]["minimum"] == 0


def test_the_cli_prints_one_line_per_problem_and_no_traceback(tmp_path):
    config = {**BASE[TapThena], "end_dat": "2025-02-01", "max_retries": -1}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "tap_thena", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    assert any(
        line.endswith("The setting `max_retries` is invalid: -1 is less than the minimum of 0.")
        for line in errors
    )
    # The schema check's refusal does not hide the tap's own checks.
    assert any("Unknown setting `end_dat`. Did you mean `end_date`?" in line for line in errors)


def test_the_cli_names_a_misspelt_setting(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE[TapThena], "end_dat": "2025-02-01"}))
    done = subprocess.run(
        [sys.executable, "-m", "tap_thena", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Unknown setting `end_dat`. Did you mean `end_date`?" in done.stderr
