"""Generate every plugin declaration from the taps themselves: one source of truth.

Each tap's `--about --format=json` (its config schema and capabilities, the SDK's own
settings included) becomes:

- its Meltano Hub definition, `hub/extractors/<tap>/<variant>.yml` (the Hub's own layout,
  `_data/meltano/extractors/<tap>/<variant>.yml`, so submitting it is a copy);
- the extractor's generated keys in `meltano.yml` (capabilities, settings,
  settings_group_validation, label, description, docs, repo); everything else there
  (pip_url, config, environments, loaders, comments) is left as it is;
- the settings table of the tap's README (between the `settings` markers).

    python scripts/plugin_definitions.py           # write them (make plugin-definitions)
    python scripts/plugin_definitions.py --check   # exit 1 naming what differs (the tests run it)

Kinds: `secret` settings are `password` (or their own kind for lists and objects) and
`sensitive`; `number` is `decimal` (never `integer`: `retry_base_wait 0.5` must be
accepted); date-time strings are `date_iso8601`; enums are `options`; objects and arrays
keep their kinds, so `meltano config set <tap> stream_maps '{...}'` stores JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: The collection's one variant (Hub) and distribution prefix (PyPI).
VARIANT = "supportanalytics"


def workspace_setting(name: str) -> str:
    """A value of the root pyproject's `[tool.supportanalytics]` table."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the same parser, as the build backend ships it
        import tomli as tomllib  # type: ignore[no-redef]
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["supportanalytics"]
    return str(table[name])


#: The repository (a placeholder until it is published), written once, in the root pyproject.
REPO = workspace_setting("repository")
#: "git": the Hub definitions install from the repository; "pypi": from the distributions.
INSTALL_FROM = workspace_setting("install-from")
CORE_FOLDER = "taps/support-taps-core"


def git_requirement(folder: str, repository: str = REPO) -> str:
    """pip's requirement for the distribution in `folder` of the repository's default branch."""
    return f"git+{repository}.git#subdirectory={folder}"


def pip_url_of(tap: str, install_from: str) -> str:
    """What a tap's Hub definition installs: the tap and the core it needs from the repository
    until the first release (pip takes the core from the same command), then the distribution."""
    if install_from == "pypi":
        return f"{VARIANT}-{tap}"
    return f"{git_requirement(CORE_FOLDER)} {git_requirement(f'taps/{tap}')}"


@dataclass(frozen=True)
class Extractor:
    name: str
    label: str
    description: str
    domain_url: str
    keywords: tuple[str, ...]
    #: Settings that, beside the required ones, make one valid set each (one group per
    #: entry); empty when the required settings alone suffice.
    alternatives: tuple[tuple[str, ...], ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return f"taps/{self.name}"

    @property
    def distribution(self) -> str:
        return f"{VARIANT}-{self.name}"

    @property
    def namespace(self) -> str:
        return self.name.replace("-", "_")

    @property
    def docs(self) -> str:
        return f"{REPO}/tree/main/{self.folder}#readme"

    @property
    def hub_file(self) -> Path:
        return ROOT / "hub" / "extractors" / self.name / f"{VARIANT}.yml"

    @property
    def readme(self) -> Path:
        return ROOT / self.folder / "README.md"


EXTRACTORS = [
    Extractor(
        "tap-thankful",
        "Thankful",
        "Thankful AI customer-support automation analytics",
        "https://www.thankful.ai",
        ("api", "meltano_sdk", "customer_support", "thankful"),
    ),
    Extractor(
        "tap-dixa",
        "Dixa",
        "Dixa customer-service platform analytics",
        "https://www.dixa.com",
        ("api", "meltano_sdk", "customer_support", "dixa"),
    ),
    Extractor(
        "tap-thena",
        "Thena",
        "Thena Slack-based customer support requests",
        "https://www.thena.ai",
        ("api", "meltano_sdk", "customer_support", "thena"),
        alternatives=(("workspace",), ("api_url",)),
    ),
    Extractor(
        "tap-xenioo",
        "Xenioo",
        "Xenioo chatbot platform statistics",
        "https://www.xenioo.com",
        ("api", "meltano_sdk", "chatbot", "xenioo"),
    ),
    Extractor(
        "tap-khoros-care",
        "Khoros Care",
        "Khoros Care customer-care analytics reports",
        "https://khoros.com",
        ("api", "meltano_sdk", "customer_support", "khoros"),
    ),
]

ACRONYMS = {"api": "API", "url": "URL", "id": "ID", "ids": "IDs", "dlr": "DLR", "sdk": "SDK"}
SETTINGS_START = "<!-- settings: generated by scripts/plugin_definitions.py from --about -->"
SETTINGS_END = "<!-- settings: end -->"


def about(extractor: Extractor) -> dict:
    done = subprocess.run(
        [str(BIN / extractor.name), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{extractor.name} --about failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def label_of(name: str, schema: dict) -> str:
    if schema.get("title"):
        return schema["title"]
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").split()
    return " ".join(ACRONYMS.get(w.lower(), w.capitalize()) for w in words)


def option_label(value: object) -> str:
    """OPEN_AT_END -> Open At End; short codes (en, csv) stay as they are."""
    text = str(value)
    return text if len(text) <= 4 and text.islower() else label_of(text, {})


def json_types(schema: dict) -> list[str]:
    kind = schema.get("type")
    if kind is None and "anyOf" in schema:
        return sorted({t for option in schema["anyOf"] for t in json_types(option)})
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    return [k for k in kinds if k != "null"]


def marks_secret(schema: dict) -> bool:
    if schema.get("secret"):
        return True
    inner = list((schema.get("properties") or {}).values())
    if isinstance(schema.get("items"), dict):
        inner.append(schema["items"])
    return any(marks_secret(s) for s in inner)


def kind_of(schema: dict) -> str:
    types = set(json_types(schema))
    if "object" in types:
        return "object"
    if "array" in types:
        return "array"
    if "string" in types and len(types) == 1:
        if schema.get("secret"):
            return "password"
        if schema.get("format") in ("date-time", "date"):
            return "date_iso8601"
        if schema.get("enum"):
            return "options"
        return "string"
    if "number" in types:
        return "decimal"
    if types == {"integer"}:
        return "integer"
    if types == {"boolean"}:
        return "boolean"
    return "string"


def setting(name: str, schema: dict) -> dict:
    """One Meltano setting for one property of the tap's config schema."""
    out: dict = {"name": name, "label": label_of(name, schema), "kind": kind_of(schema)}
    if out["kind"] == "options":
        out["options"] = [
            {"label": option_label(v), "value": v} for v in schema["enum"] if v is not None
        ]
    if "default" in schema and schema["default"] is not None:
        out["value"] = schema["default"]
    if marks_secret(schema):
        out["sensitive"] = True
    if schema.get("description"):
        out["description"] = " ".join(schema["description"].split())
    return out


def generated(extractor: Extractor, info: dict) -> dict:
    """The keys the taps own, in the Hub's order of importance."""
    config = info["settings"]
    # In the order the tap declares its settings (SDK releases differ in how they list them).
    required = [name for name in config["properties"] if name in (config.get("required") or [])]
    if extractor.alternatives:
        groups = [required + list(alternative) for alternative in extractor.alternatives]
    else:
        groups = [required]
    return {
        "label": extractor.label,
        "description": extractor.description,
        "docs": extractor.docs,
        "repo": REPO,
        "capabilities": sorted(info["capabilities"]),
        "settings_group_validation": groups,
        "settings": [setting(name, schema) for name, schema in config["properties"].items()],
    }


def hub_definition(extractor: Extractor, info: dict) -> dict:
    own = generated(extractor, info)
    definition = {
        "name": extractor.name,
        "namespace": extractor.namespace,
        "variant": VARIANT,
        "label": own["label"],
        "description": own["description"],
        "docs": own["docs"],
        "repo": own["repo"],
        "domain_url": extractor.domain_url,
        "pip_url": pip_url_of(extractor.name, INSTALL_FROM),
        "executable": extractor.name,
        "capabilities": own["capabilities"],
        "settings_group_validation": own["settings_group_validation"],
        "settings": own["settings"],
        "keywords": list(extractor.keywords),
        "maintenance_status": "active",
        "quality": "unknown",  # the Hub rates quality itself
    }
    if info.get("supported_python_versions"):
        definition["supported_python_versions"] = info["supported_python_versions"]
    return definition


def yaml() -> YAML:
    y = YAML()
    y.indent(mapping=2, sequence=2, offset=0)
    y.width = 4096  # one line per description: stable diffs
    y.preserve_quotes = True
    return y


def dump(data: object) -> str:
    buffer = io.StringIO()
    yaml().dump(data, buffer)
    return buffer.getvalue()


def hub_text(extractor: Extractor, info: dict) -> str:
    header = (
        f"# Meltano Hub definition of {extractor.name} ({VARIANT} variant).\n"
        f"# Generated by scripts/plugin_definitions.py from `{extractor.name} --about`; "
        "do not edit by hand.\n"
    )
    return header + dump(hub_definition(extractor, info))


#: Where each key goes in an extractor's block of meltano.yml (keys not listed stay after).
MELTANO_ORDER = [
    "name",
    "label",
    "description",
    "docs",
    "repo",
    "namespace",
    "pip_url",
    "executable",
    "capabilities",
    "settings_group_validation",
    "settings",
]


def meltano_text(infos: dict[str, dict]) -> str:
    y = yaml()
    project = y.load((ROOT / "meltano.yml").read_text())
    for plugin in project["plugins"]["extractors"]:
        extractor = next((e for e in EXTRACTORS if e.name == plugin["name"]), None)
        if extractor is None:
            continue
        values = {
            "namespace": extractor.namespace,
            "executable": extractor.name,
            **generated(extractor, infos[extractor.name]),
        }
        previous = "name"
        for key in MELTANO_ORDER:
            if key in values:
                if key in plugin:
                    plugin[key] = values[key]
                else:
                    plugin.insert(list(plugin).index(previous) + 1, key, values[key])
            if key in plugin:
                previous = key
    buffer = io.StringIO()
    y.dump(project, buffer)
    return buffer.getvalue()


def markdown_cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table(extractor: Extractor, info: dict) -> str:
    required = set(info["settings"].get("required") or [])
    rows = ["| Setting | Kind | Required | Default | Description |", "|:--|:--|:--:|:--|:--|"]
    for entry in generated(extractor, info)["settings"]:
        kind = entry["kind"] + (", sensitive" if entry.get("sensitive") else "")
        rows.append(
            f"| `{entry['name']}` | {kind} | {'yes' if entry['name'] in required else ''} | "
            f"{markdown_cell(entry.get('value'))} | {markdown_cell(entry.get('description'))} |"
        )
    return "\n".join([SETTINGS_START, "", *rows, "", SETTINGS_END])


def readme_text(extractor: Extractor, info: dict) -> str | None:
    if not extractor.readme.exists():
        return None
    text = extractor.readme.read_text()
    if SETTINGS_START not in text:
        return None
    before, rest = text.split(SETTINGS_START, 1)
    after = rest.split(SETTINGS_END, 1)[1]
    return before + settings_table(extractor, info) + after


@dataclass(frozen=True)
class Loader:
    """A loader the tests prove keeps every row, declared in meltano.yml (pip_url aside)."""

    name: str
    variant: str
    #: What a user's project installs (meltano.yml installs this checkout instead).
    public_pip_url: str

    @property
    def hub_file(self) -> Path:
        return ROOT / "hub" / "loaders" / self.name / f"{self.variant}.yml"


LOADERS = [
    # target-duckdb 0.8.0 through loaders/target-duckdb-exact (which keeps every row).
    Loader(
        "target-duckdb",
        VARIANT,
        f"{VARIANT}-target-duckdb-exact"
        if INSTALL_FROM == "pypi"
        else git_requirement("loaders/target-duckdb-exact"),
    ),
    # MeltanoLabs' target-postgres, at the release tests/integration and the new-project
    # test run (the Hub's `--variant meltanolabs` installs the newest instead).
    Loader("target-postgres", "meltanolabs", "meltanolabs-target-postgres==0.8.1"),
]


def loader_definition(loader: Loader, declared: dict) -> dict:
    """A loader's definition for a user's project: meltano.yml's declaration, its config as
    the settings' defaults, its pip_url the public one."""
    config = declared.get("config") or {}
    settings = []
    for entry in declared["settings"]:
        entry = dict(entry)
        if entry["name"] in config:
            entry["value"] = config[entry["name"]]
        settings.append(entry)
    return {
        "name": loader.name,
        "namespace": declared["namespace"],
        "variant": loader.variant,
        "pip_url": loader.public_pip_url,
        "executable": declared["executable"],
        "settings": settings,
    }


def loader_text(loader: Loader) -> str:
    project = YAML(typ="safe").load((ROOT / "meltano.yml").read_text())
    declared = next(p for p in project["plugins"]["loaders"] if p["name"] == loader.name)
    header = (
        f"# Meltano definition of the loader {loader.name} ({loader.variant} variant), as this\n"
        "# repository's tests run it (`meltano add --plugin-type loader --from-ref <this file>`).\n"
        "# Generated by scripts/plugin_definitions.py from meltano.yml; do not edit by hand.\n"
    )
    return header + dump(loader_definition(loader, declared))


def outputs() -> dict[Path, str]:
    infos = {extractor.name: about(extractor) for extractor in EXTRACTORS}
    files = {
        extractor.hub_file: hub_text(extractor, infos[extractor.name]) for extractor in EXTRACTORS
    }
    files.update({loader.hub_file: loader_text(loader) for loader in LOADERS})
    files[ROOT / "meltano.yml"] = meltano_text(infos)
    for extractor in EXTRACTORS:
        readme = readme_text(extractor, infos[extractor.name])
        if readme is not None:
            files[extractor.readme] = readme
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file differs"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print(
            "Out of date with the taps' --about (run `make plugin-definitions`): "
            + ", ".join(map(str, stale)),
            file=sys.stderr,
        )
        return 1
    if not args.check:
        print("Regenerated: " + (", ".join(map(str, stale)) or "nothing changed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
