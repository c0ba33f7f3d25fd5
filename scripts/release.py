"""The release steps that change files (run by .github/workflows/release.yml, or by hand).

    python scripts/release.py versions 0.2.0     # every distribution's version, from the tag
    python scripts/release.py install-from pypi  # the Hub definitions install the distributions

`versions` writes the version into each distribution's pyproject.toml and the core version
the taps require (`supportanalytics-taps-core~=<version>`): all distributions are released
together, from one tag. `install-from` sets `[tool.supportanalytics] install-from` in the root
pyproject; `make plugin-definitions` then writes the Hub definitions' pip_url to match.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Every distribution the release builds and publishes (folder: distribution name).
DISTRIBUTIONS = {
    "taps/support-taps-core": "supportanalytics-taps-core",
    "taps/tap-thankful": "supportanalytics-tap-thankful",
    "taps/tap-dixa": "supportanalytics-tap-dixa",
    "taps/tap-thena": "supportanalytics-tap-thena",
    "taps/tap-xenioo": "supportanalytics-tap-xenioo",
    "taps/tap-khoros-care": "supportanalytics-tap-khoros-care",
    "simulators": "supportanalytics-simulators",
    "orchestrator": "supportanalytics-orchestrator",
    "loaders/target-duckdb-exact": "supportanalytics-target-duckdb-exact",
}

#: A release version as PEP 440 spells a final or pre-release (a tag `v0.2.0` gives `0.2.0`).
_VERSION = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?$")
_PROJECT_VERSION = re.compile(r'^(version\s*=\s*)"[^"]*"', re.MULTILINE)
_CORE_REQUIREMENT = re.compile(r'"supportanalytics-taps-core[^"]*"')
_INSTALL_FROM = re.compile(r'^(install-from\s*=\s*)"[^"]*"', re.MULTILINE)


def set_versions(version: str, root: Path = ROOT) -> list[Path]:
    """Write `version` into every distribution; the pyproject files changed."""
    if not _VERSION.match(version):
        raise SystemExit(
            f"Not a release version: {version!r} (expected e.g. 0.2.0 or 0.2.0rc1, "
            "from a tag v0.2.0)."
        )
    changed = []
    for folder in DISTRIBUTIONS:
        path = root / folder / "pyproject.toml"
        text = path.read_text()
        new, count = _PROJECT_VERSION.subn(rf'\g<1>"{version}"', text, count=1)
        if count != 1:
            raise SystemExit(f"No `version = ...` line in {path}.")
        new = _CORE_REQUIREMENT.sub(f'"supportanalytics-taps-core~={version}"', new)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def set_install_from(source: str, root: Path = ROOT) -> None:
    if source not in ("git", "pypi"):
        raise SystemExit(f"install-from must be git or pypi, not {source!r}.")
    path = root / "pyproject.toml"
    text, count = _INSTALL_FROM.subn(rf'\g<1>"{source}"', path.read_text(), count=1)
    if count != 1:
        raise SystemExit(f"No `install-from = ...` line in {path}.")
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("versions", help="set every distribution's version").add_argument("version")
    sub.add_parser("install-from", help="git or pypi").add_argument("source")
    sub.add_parser("distributions", help="print the folders of the distributions, one a line")
    args = parser.parse_args(argv)
    if args.command == "versions":
        for path in set_versions(args.version.removeprefix("v")):
            print(f"{path.relative_to(ROOT)}: {args.version.removeprefix('v')}")
    elif args.command == "install-from":
        set_install_from(args.source)
    else:
        print("\n".join(DISTRIBUTIONS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
