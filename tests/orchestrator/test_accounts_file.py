"""Many accounts in one Meltano project: accounts.yml → accounts.meltano.yml (scripts/accounts.py).

What Meltano makes of the generated plugins is asked of Meltano itself (`meltano invoke
--dump=config --print-var=MELTANO_EXTRACT__LOAD_SCHEMA`: the config the tap gets and the schema
the loader is told), in a scratch copy of this project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import accounts
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).parent / "meltano"

TWO_DIXA_ONE_THENA = """
tap-dixa:
  - account: acme
    config: {timezone: Europe/Copenhagen}
  - account: globex-eu
tap-thena:
  - account: initech
    config: {workspace: initech}
"""


def _project(tmp_path: Path, accounts_text: str) -> Path:
    shutil.copy(ROOT / "meltano.yml", tmp_path / "meltano.yml")
    (tmp_path / "accounts.yml").write_text(accounts_text)
    assert accounts.main(["--project", str(tmp_path)]) == 0
    return tmp_path


def _meltano(project: Path, *args: str, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "MELTANO_"))}
    done = subprocess.run(
        [str(MELTANO), *args],
        cwd=project,
        env={**clean, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


#: Where the loader is told to write an extractor's streams (from its `load_schema` extra).
LOAD_SCHEMA = "MELTANO_EXTRACT__LOAD_SCHEMA"


def _invoked(project: Path, plugin: str, env: dict[str, str]) -> tuple[dict, str]:
    """What `meltano invoke` hands the plugin in the prod environment: its config, and the
    loader's target schema it passes on (one `meltano` command, a few seconds, for both)."""
    out = _meltano(
        project,
        "--environment=prod",
        "invoke",
        f"--print-var={LOAD_SCHEMA}",
        "--dump=config",
        plugin,
        env=env,
    )
    variable, _, rest = out.partition("\n")
    name, _, schema = variable.partition("=")
    assert name == LOAD_SCHEMA, out[:300]
    return json.loads(rest[rest.index("{") :]), schema


ENV = {
    "TAP_DIXA__ACME_API_TOKEN": "acme-token",
    "TAP_DIXA__GLOBEX_EU_API_TOKEN": "globex-token",
    # The parent's variable: Meltano would hand it to every account whose own is unset.
    "TAP_DIXA_API_TOKEN": "parent-token",
    "TAP_THENA__INITECH_API_KEY": "initech-key",
}


@pytest.fixture(scope="module")
def invoked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, str]]:
    """Each account's plugin invoked once, in one scratch project, for the tests below."""
    project = _project(tmp_path_factory.mktemp("project"), TWO_DIXA_ONE_THENA)
    return {
        plugin: _invoked(project, plugin, ENV)
        for plugin in ("tap-dixa--acme", "tap-dixa--globex-eu", "tap-thena--initech")
    } | {
        # An account whose own variable is unset, the parent's set.
        "tap-dixa--acme unset": _invoked(
            project, "tap-dixa--acme", {"TAP_DIXA_API_TOKEN": "parent-token"}
        )
    }


def test_each_account_is_a_plugin_with_its_own_secrets_and_account_id(invoked):
    acme, _ = invoked["tap-dixa--acme"]
    assert (acme["account_id"], acme["api_token"], acme["timezone"]) == (
        "acme",
        "acme-token",
        "Europe/Copenhagen",
    )
    assert acme["start_date"] == "2024-01-01"  # the tap's prod config, inherited
    globex, _ = invoked["tap-dixa--globex-eu"]
    assert (globex["account_id"], globex["api_token"], globex["timezone"]) == (
        "globex-eu",
        "globex-token",
        "UTC",
    )
    initech, _ = invoked["tap-thena--initech"]
    assert (initech["account_id"], initech["api_key"], initech["workspace"]) == (
        "initech",
        "initech-key",
        "initech",
    )
    # An account whose own variable is unset gets no credential, never the parent's.
    unset, _ = invoked["tap-dixa--acme unset"]
    assert not unset.get("api_token")


def test_every_account_of_a_tap_loads_into_the_taps_schema(invoked):
    for plugin, schema in (
        ("tap-dixa--acme", "tap_dixa"),
        ("tap-dixa--globex-eu", "tap_dixa"),
        ("tap-thena--initech", "tap_thena"),
    ):
        assert invoked[plugin][1] == schema, plugin


def test_the_generated_file_lists_each_accounts_variables(tmp_path):
    _project(tmp_path, TWO_DIXA_ONE_THENA)
    text = (tmp_path / "accounts.meltano.yml").read_text()
    assert (
        "#   tap-dixa--globex-eu: TAP_DIXA__GLOBEX_EU_API_TOKEN, TAP_DIXA__GLOBEX_EU_PII_SALT\n"
        in text
    )
    plugins = yaml.safe_load(text)["plugins"]["extractors"]
    assert [(p["name"], p["inherit_from"]) for p in plugins] == [
        ("tap-dixa--acme", "tap-dixa"),
        ("tap-dixa--globex-eu", "tap-dixa"),
        ("tap-thena--initech", "tap-thena"),
    ]


@pytest.mark.parametrize(
    ("accounts_text", "error"),
    [
        (
            "tap-dixa:\n  - account: acme\n    config: {api_token: t0k3n}\n",
            "sets the secret api_token in the file; set the variable TAP_DIXA__ACME_API_TOKEN",
        ),
        ("tap-dixa:\n  - account: Acme Corp\n", "account `Acme Corp` is not a usable name"),
        ("tap-zendesk:\n  - account: acme\n", "`tap-zendesk` is not a tap of this project"),
        (
            "tap-dixa:\n  - account: acme-eu\n  - account: acme_eu\n",
            "accounts `acme-eu` and `acme_eu` share the variables TAP_DIXA__ACME_EU_*",
        ),
        ("tap-dixa:\n  - acme\n", "each account of `tap-dixa` needs `account: <name>`"),
        ("tap-dixa:\n  - account: a\n    config: {account_id: b}\n", "sets account_id"),
        ("tap-dixa: acme\n", "`tap-dixa` must be a list of accounts"),
    ],
)
def test_a_bad_accounts_file_is_one_line_naming_the_fault(tmp_path, capsys, accounts_text, error):
    shutil.copy(ROOT / "meltano.yml", tmp_path / "meltano.yml")
    (tmp_path / "accounts.yml").write_text(accounts_text)
    assert accounts.main(["--project", str(tmp_path)]) == 2
    message = capsys.readouterr().err
    assert error in message and message.count("\n") == 1, message
    assert not (tmp_path / "accounts.meltano.yml").exists()


def test_a_project_that_does_not_include_the_file_is_told_so(tmp_path, capsys):
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    del project["include_paths"]
    (tmp_path / "meltano.yml").write_text(yaml.safe_dump(project))
    (tmp_path / "accounts.yml").write_text("tap-dixa:\n  - account: acme\n")
    assert accounts.main(["--project", str(tmp_path)]) == 2
    assert "add `./accounts.meltano.yml` to include_paths" in capsys.readouterr().err


def test_this_projects_accounts_file_is_generated_from_accounts_yml():
    assert accounts.main(["--check"]) == 0, "run `make accounts`"
