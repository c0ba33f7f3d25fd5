"""A new user's path, for real: a brand-new Meltano project adds each tap from its Hub definition.

Each tap's definition (hub/extractors/<tap>/supportanalytics.yml) is added with
`meltano add --plugin-type extractor <tap> --from-ref <file>`, with the definition's own
pip_url (`git+<repository>.git#subdirectory=...`, the tap's and the core's), its repository
URL pointed at a local clone of this checkout, and installed by Meltano into its own venv.
Then, per tap: `meltano config list <tap>` (Meltano 4's spelling of `meltano config <tap>
list`), `meltano invoke <tap> --about`, `meltano select <tap> --list` (discovery against the tap's
simulator). tap-thena goes all the way: a decimal setting and a stream map set through
`meltano config set <tap> <setting> <value>`, then `meltano run tap-thena
target-jsonl` against its simulator into target-jsonl from PyPI.

Decimals are set with `meltano config set` (or in meltano.yml): Meltano 4.4.1 cannot pass a
decimal setting from an environment variable (the last test pins that bug).

(Meltano 4's own syntax is `meltano add --plugin-type extractor`; the older positional
`meltano add extractor <tap> --from-ref` also adds a stray utility of the same name.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kit_clone import clone_of_working_tree

from support_simulators.registry import DEMO_PORTS, simulator_class

ROOT = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).parent / "meltano"
SIMULATOR_OF = {
    "tap-thankful": "thankful",
    "tap-dixa": "dixa",
    "tap-thena": "thena",
    "tap-xenioo": "xenioo",
    "tap-khoros-care": "khoros",
}
#: A stream each tap's discovery must list.
STREAM_OF = {
    "tap-thankful": "tickets_over_time",
    "tap-dixa": "metrics_catalogue",
    "tap-thena": "requests",
    "tap-xenioo": "account_statistics",
    "tap-khoros-care": "conversation",
}
TARGET_JSONL = {
    "name": "target-jsonl",
    "namespace": "target_jsonl",
    "variant": "andyh1203",
    "pip_url": "target-jsonl==0.1.4",
    "executable": "target-jsonl",
    "settings": [
        {"name": "destination_path", "kind": "string"},
        {"name": "do_timestamp_file", "kind": "boolean"},
    ],
}


def simulator_config(tap: str, url: str) -> dict:
    """The demo's simulator config of `tap` (meltano.yml), pointed at `url`."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    environment = next(e for e in project["environments"] if e["name"] == "simulators")
    config = next(p for p in environment["config"]["plugins"]["extractors"] if p["name"] == tap)[
        "config"
    ]
    demo_url = f"http://127.0.0.1:{DEMO_PORTS[SIMULATOR_OF[tap]]}"
    return {
        key: value.replace(demo_url, url) if isinstance(value, str) else value
        for key, value in config.items()
    }


def from_clone(pip_url: str, clone: Path) -> str:
    """`pip_url` with the repository's URL pointed at `clone` (each requirement installs from
    git, as from the published repository)."""
    repository = _workspace_setting("repository")
    assert f"git+{repository}.git#subdirectory=" in pip_url, pip_url
    return pip_url.replace(f"git+{repository}.git", f"git+file://{clone}")


def _workspace_setting(name: str) -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["supportanalytics"][name]


class Project:
    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path, self.env = path, env

    def meltano(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(MELTANO), *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, (
                f"meltano {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
            )
        return done


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("meltano-add")
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env.pop("MELTANO_ENVIRONMENT", None)
    subprocess.run(
        [str(MELTANO), "init", "project", "--no-usage-stats"],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    new = Project(base / "project", env)
    clone = clone_of_working_tree(base / "repository")

    simulators = [simulator_class(SIMULATOR_OF[tap])(seed=7).start() for tap in SIMULATOR_OF]
    try:
        for tap in SIMULATOR_OF:
            definition = yaml.safe_load(
                (ROOT / "hub" / "extractors" / tap / "supportanalytics.yml").read_text()
            )
            # The definition's own pip_url, from a clone of this checkout, not from GitHub.
            definition["pip_url"] = from_clone(definition["pip_url"], clone)
            ref = base / f"{tap}.yml"
            ref.write_text(yaml.safe_dump(definition, sort_keys=False))
            new.meltano(
                "add", "--plugin-type", "extractor", tap, "--from-ref", str(ref), "--no-install"
            )
        loader = base / "target-jsonl.yml"
        loader.write_text(yaml.safe_dump(TARGET_JSONL, sort_keys=False))
        new.meltano(
            "add",
            "--plugin-type",
            "loader",
            "target-jsonl",
            "--from-ref",
            str(loader),
            "--no-install",
        )
        # Each tap's simulator config, written into the project as a user would edit it.
        declared = yaml.safe_load((new.path / "meltano.yml").read_text())
        for plugin, simulator in zip(declared["plugins"]["extractors"], simulators, strict=False):
            plugin["config"] = simulator_config(plugin["name"], simulator.url)
        declared["plugins"]["loaders"][0]["config"] = {
            "destination_path": "output",
            "do_timestamp_file": False,
        }
        (new.path / "meltano.yml").write_text(yaml.safe_dump(declared, sort_keys=False))
        new.meltano("install", timeout=900)  # every plugin, in parallel, each in its own venv
        yield new
    finally:
        for simulator in simulators:
            simulator.stop()


def test_project_declares_the_hub_definitions(project):
    declared = yaml.safe_load((project.path / "meltano.yml").read_text())
    extractors = {p["name"]: p for p in declared["plugins"]["extractors"]}
    assert set(extractors) == set(SIMULATOR_OF)
    assert "utilities" not in declared["plugins"]
    for plugin in extractors.values():
        assert plugin["variant"] == "supportanalytics"
        # The Hub definition's requirements (the core's, the tap's), from the clone.
        assert plugin["pip_url"].count("git+file://") == 2, plugin["pip_url"]
        kinds = {s["name"]: s.get("kind") for s in plugin["settings"]}
        assert kinds["retry_base_wait"] == "decimal" and kinds["stream_maps"] == "object"


@pytest.mark.parametrize("tap", list(SIMULATOR_OF))
def test_config_list_about_and_select(project, tap):
    listed = project.meltano("config", "list", "--all", tap).stdout
    about = json.loads(project.meltano("invoke", tap, "--about", "--format=json").stdout)
    assert about["name"] == tap and about["version"] == "0.1.0"
    prefix = tap.upper().replace("-", "_")
    for name, schema in about["settings"]["properties"].items():
        line = re.search(
            rf"^{name} (\([^)]*\) )?\[env: {prefix}_{name.upper()}\] "
            r"(\(default: .*\) )?current value: (.*)$",
            listed,
            re.M,
        )
        assert line, (name, listed[:3000])
        if schema.get("secret") and name in simulator_config(tap, ""):
            assert line.group(3).startswith("(redacted)"), line.group(0)
    selected = project.meltano("select", tap, "--list", "--all", timeout=600).stdout
    assert f"{STREAM_OF[tap]}." in selected, selected[-3000:]


def test_decimal_and_stream_map_set_through_meltano_reach_the_tap_and_the_target(project):
    project.meltano("config", "set", "tap-thena", "retry_base_wait", "0.5")
    project.meltano("config", "set", "tap-thena", "request_timeout", "2.5")
    project.meltano(
        "config",
        "set",
        "tap-thena",
        "stream_maps",
        json.dumps({"requests": {"request_id_again": "request_id"}}),
    )
    # One month of the simulator's requests is enough here.
    declared = yaml.safe_load((project.path / "meltano.yml").read_text())
    thena = next(p for p in declared["plugins"]["extractors"] if p["name"] == "tap-thena")
    thena["config"]["end_date"] = "2025-02-01"
    (project.path / "meltano.yml").write_text(yaml.safe_dump(declared, sort_keys=False))
    config = json.loads(project.meltano("config", "print", "--format=json", "tap-thena").stdout)
    assert config["retry_base_wait"] == 0.5
    assert config["request_timeout"] == 2.5
    assert config["stream_maps"] == {"requests": {"request_id_again": "request_id"}}

    project.meltano("run", "tap-thena", "target-jsonl", timeout=600)
    rows = [
        json.loads(line)
        for line in (project.path / "output" / "requests.jsonl").read_text().splitlines()
    ]
    assert len(rows) > 100
    assert all(row["request_id_again"] == row["request_id"] for row in rows)
    assert len({row["request_id"] for row in rows}) == len(rows)
    assert all("2025-01-01" <= row["created_datetime"][:10] < "2025-02-01" for row in rows)


def test_meltano_still_cannot_pass_a_decimal_from_an_environment_variable(project):
    """Meltano 4.4.1 turns TAP_X_<DECIMAL SETTING>=2.5 into a Decimal it then cannot write to the
    tap's config file. When this fails, Meltano fixed it: drop the caveat in the taps' READMEs."""
    done = subprocess.run(
        [str(MELTANO), "config", "print", "--format=json", "tap-thena"],
        cwd=project.path,
        env={**project.env, "TAP_THENA_REQUEST_TIMEOUT": "2.5"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Object of type Decimal is not JSON serializable" in done.stdout + done.stderr
