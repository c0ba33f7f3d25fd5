"""The pipelines of a Meltano project: each tap, or each of its accounts, into one loader.

Read from the project's files (meltano.yml and its `include_paths`), not listed by hand: an
extractor that inherits from another (`inherit_from`, as `make accounts` writes them) is an
account of that tap; a tap with accounts runs as its accounts only, a tap without runs as
itself (account `default`).
"""

from __future__ import annotations

import os
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path

import yaml


class ProjectError(Exception):
    """The Meltano project cannot be read, said in one line."""


@dataclass(frozen=True)
class Pipeline:
    """`meltano run <extractor> <loader>`; its state id is Meltano's for that pair."""

    extractor: str  # the plugin run: `tap-dixa--acme`, or `tap-dixa` itself
    tap: str  # the tap it is, or inherits from: `tap-dixa` (also its vendor)
    siblings: tuple[str, ...] = ()  # every account plugin of the tap (this one included)

    @property
    def name(self) -> str:
        """A Dagster name (letters, digits, `_`): `tap_dixa__acme`."""
        return re.sub(r"[^A-Za-z0-9_]", "_", self.extractor)

    @property
    def account(self) -> str:
        return self.extractor[len(self.tap) + 2 :] if self.extractor != self.tap else "default"

    def environment(self, environ: dict[str, str]) -> dict[str, str]:
        """`environ` without the variables of this tap's other accounts (their credentials):
        a pipeline's processes see only their own."""
        prefixes = sorted(map(_env_prefix, self.siblings), key=len, reverse=True)

        def owner(key: str) -> str | None:
            # The longest prefix owns a variable: `TAP_DIXA__ACME_EU_API_TOKEN` is acme-eu's,
            # not acme's.
            return next((p for p in prefixes if key.startswith(p)), None)

        own = _env_prefix(self.extractor)
        return {k: v for k, v in environ.items() if owner(k) in (None, own)}


def _env_prefix(plugin: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", plugin).upper() + "_"


def _project_files(root: Path) -> list[dict[str, t.Any]]:
    meltano_yml = root / "meltano.yml"
    try:
        main = yaml.safe_load(meltano_yml.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ProjectError(f"Cannot read the Meltano project at {meltano_yml}: {error}") from None
    files = [main]
    for pattern in main.get("include_paths") or []:
        for path in sorted(root.glob(pattern.removeprefix("./"))):
            files.append(yaml.safe_load(path.read_text()) or {})
    return files


def pipelines(root: Path) -> list[Pipeline]:
    """Every tap-and-account pipeline of the project at `root`, in file order."""
    extractors = [
        plugin
        for content in _project_files(root)
        for plugin in ((content.get("plugins") or {}).get("extractors") or [])
    ]
    taps = [p["name"] for p in extractors if not p.get("inherit_from")]
    accounts: dict[str, list[str]] = {tap: [] for tap in taps}
    for plugin in extractors:
        parent = plugin.get("inherit_from")
        if parent in accounts:
            accounts[parent].append(plugin["name"])
    return [
        Pipeline(extractor=name, tap=tap, siblings=tuple(accounts[tap]))
        for tap in taps
        for name in (accounts[tap] or [tap])
    ]


def project_root() -> Path:
    """Meltano's own variable for the project folder (as `meltano` reads it), else the cwd."""
    return Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path.cwd())
