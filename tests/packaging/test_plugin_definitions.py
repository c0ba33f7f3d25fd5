"""The Hub definitions and meltano.yml say what the taps say, and the Hub accepts them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import plugin_definitions as generator  # scripts/plugin_definitions.py
import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[2]
HUB_SCHEMAS = Path(__file__).with_name("hub_schemas")
EXTRACTORS = {e.name: e for e in generator.EXTRACTORS}


def hub_validator() -> Draft7Validator:
    """The Hub's extractor schema with its references, resolved as the Hub's own CI does."""
    resources = []
    for path in sorted(HUB_SCHEMAS.glob("*/*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append(
            (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7))
        )
    extractors = json.loads(
        (HUB_SCHEMAS / "plugin_definitions" / "extractors.schema.json").read_text()
    )
    return Draft7Validator(extractors, registry=Registry().with_resources(resources))


@pytest.fixture(scope="module")
def abouts() -> dict[str, dict]:
    return {name: generator.about(extractor) for name, extractor in EXTRACTORS.items()}


def test_generated_files_are_up_to_date():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plugin_definitions.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", list(EXTRACTORS))
def test_hub_definition_is_valid_for_the_hub(name):
    definition = yaml.safe_load(EXTRACTORS[name].hub_file.read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in hub_validator().iter_errors(definition)
    ]
    assert errors == []
    assert definition["variant"] == generator.VARIANT
    assert definition["pip_url"] == generator.pip_url_of(name, generator.INSTALL_FROM)
    assert definition["executable"] == name


def test_the_hub_schema_rejects_what_the_hub_would_reject():
    """The vendored schema and its references are in force (a broken $ref would accept anything)."""
    validator = hub_validator()
    good = yaml.safe_load(EXTRACTORS["tap-thena"].hub_file.read_text())
    assert validator.is_valid(good)
    for broken in (
        {**good, "capabilities": ["state", "time-travel"]},
        {**good, "settings": [{"name": "x", "kind": "float"}]},
        {k: v for k, v in good.items() if k != "quality"},
        {**good, "unknown_key": 1},
    ):
        assert not validator.is_valid(broken)


@pytest.mark.parametrize("name", list(EXTRACTORS))
def test_declarations_agree_with_the_tap(name, abouts):
    about = abouts[name]
    properties = about["settings"]["properties"]
    hub = yaml.safe_load(EXTRACTORS[name].hub_file.read_text())
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    block = next(p for p in project["plugins"]["extractors"] if p["name"] == name)
    for declared in (hub, block):
        assert sorted(declared["capabilities"]) == sorted(about["capabilities"])
        assert {"batch", "structured-logging", "stream-maps", "schema-flattening"} <= set(
            declared["capabilities"]
        )
        settings = {s["name"]: s for s in declared["settings"]}
        assert set(settings) == set(properties)  # every setting, the SDK's own included
        for sdk_setting in (
            "stream_maps",
            "stream_map_config",
            "flattening_enabled",
            "flattening_max_depth",
            "batch_config",
        ):
            assert sdk_setting in settings
        assert settings["stream_maps"]["kind"] == "object"
        assert settings["batch_config"]["kind"] == "object"
        for setting_name, schema in properties.items():
            entry = settings[setting_name]
            types = set(generator.json_types(schema))
            if "number" in types:
                assert entry["kind"] == "decimal", setting_name
            if types == {"integer"}:
                assert entry["kind"] == "integer", setting_name
            assert bool(entry.get("sensitive")) == generator.marks_secret(schema), setting_name
            if schema.get("secret") and types == {"string"}:
                assert entry["kind"] == "password"
            if schema.get("default") is not None:
                assert entry["value"] == schema["default"], setting_name
        required = set(about["settings"].get("required") or [])
        assert all(required <= set(group) for group in declared["settings_group_validation"])


def test_every_decimal_setting_of_the_issue_is_a_decimal():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    kinds = {
        (p["name"], s["name"]): s["kind"]
        for p in project["plugins"]["extractors"]
        for s in p["settings"]
    }
    for tap in EXTRACTORS:
        for setting in ("request_timeout", "retry_base_wait", "max_retry_after", "max_retry_wait"):
            assert kinds[(tap, setting)] == "decimal"
    for setting in ("requests_per_minute", "poll_interval", "max_poll_interval", "report_timeout"):
        assert kinds[("tap-khoros-care", setting)] == "decimal"
    assert kinds[("tap-xenioo", "bots")] == "array"


def test_secret_inside_a_list_makes_the_list_sensitive():
    schema = {
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": ["string"]},
                "api_key": {"type": ["string"], "secret": True},
            },
        },
    }
    entry = generator.setting("bots", schema)
    assert entry["kind"] == "array" and entry["sensitive"] is True
    assert (
        generator.setting("wait", {"type": ["number", "null"], "default": 1.5})["kind"] == "decimal"
    )
    options = generator.setting("mode", {"type": ["string", "null"], "enum": ["en", "OPEN_AT_END"]})
    assert options["options"] == [
        {"label": "en", "value": "en"},
        {"label": "Open At End", "value": "OPEN_AT_END"},
    ]


def test_pip_url_installs_from_the_repository_until_the_release_switches_it():
    repo = generator.REPO
    assert generator.pip_url_of("tap-thena", "git") == (
        f"git+{repo}.git#subdirectory=taps/support-taps-core "
        f"git+{repo}.git#subdirectory=taps/tap-thena"
    )
    assert generator.pip_url_of("tap-thena", "pypi") == "supportanalytics-tap-thena"
    loader = yaml.safe_load((ROOT / "hub/loaders/target-duckdb/supportanalytics.yml").read_text())
    assert loader["executable"] == "target-duckdb-exact"
    assert loader["pip_url"] == (
        f"git+{repo}.git#subdirectory=loaders/target-duckdb-exact"
        if generator.INSTALL_FROM == "git"
        else "supportanalytics-target-duckdb-exact"
    )


_REPOSITORY_URL = re.compile(
    r"https://(?:github\.com|raw\.githubusercontent\.com)/[\w.-]+/support-analytics-taps\b"
)


def test_the_repository_url_is_spelled_one_way_everywhere():
    """One source (the root pyproject's [tool.supportanalytics] repository); every file that
    names the repository spells it that way (a placeholder until the repository is published)."""
    raw = generator.REPO.replace("https://github.com/", "https://raw.githubusercontent.com/")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    others = {}
    for name in files:
        path = ROOT / name
        if path.suffix not in (".md", ".toml", ".yml", ".yaml", ".py") or not path.is_file():
            continue
        for url in _REPOSITORY_URL.findall(path.read_text(errors="replace")):
            if url not in (generator.REPO, raw):
                others.setdefault(name, set()).add(url)
    assert others == {}
