"""The release's file changes (scripts/release.py, run by .github/workflows/release.yml): every
distribution at the tag's version, the taps requiring that core, and the Hub definitions
switched from git URLs to the published names. Run on a `git clone` of this checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import plugin_definitions as generator  # scripts/plugin_definitions.py
import pytest
import release  # scripts/release.py
import yaml
from kit_clone import clone_of_working_tree

ROOT = Path(__file__).resolve().parents[2]


def test_the_release_builds_every_distribution_of_the_repository():
    """release.DISTRIBUTIONS is every folder with a distribution (and what the workflow builds)."""
    found = {
        str(path.parent.relative_to(ROOT))
        for path in ROOT.glob("**/pyproject.toml")
        if path.parent != ROOT
        and ".venv" not in path.parts
        and ".meltano" not in path.parts
        and "[project]" in path.read_text()
    }
    assert found == set(release.DISTRIBUTIONS)
    for folder, name in release.DISTRIBUTIONS.items():
        assert f'name = "{name}"' in (ROOT / folder / "pyproject.toml").read_text()
    workflow = (ROOT / ".github/workflows/release.yml").read_text()
    assert "scripts/release.py versions" in workflow and "release.py distributions" in workflow
    assert "pypa/gh-action-pypi-publish" in workflow and "id-token: write" in workflow
    assert "release.py install-from pypi" in workflow


@pytest.fixture
def clone(tmp_path):
    return clone_of_working_tree(tmp_path / "repo")


def test_versions_come_from_the_tag_and_the_taps_require_that_core(clone, tmp_path):
    subprocess.run(
        [sys.executable, "scripts/release.py", "versions", "v1.4.0"], cwd=clone, check=True
    )
    for folder in release.DISTRIBUTIONS:
        assert 'version = "1.4.0"' in (clone / folder / "pyproject.toml").read_text(), folder
    subprocess.run(
        [sys.executable, "-m", "build", "-q", "--no-isolation", "--wheel", "-o", str(tmp_path)]
        + [str(clone / "taps/tap-thena")],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(tmp_path.glob("supportanalytics_tap_thena-1.4.0-*.whl"))
    metadata = zipfile.ZipFile(wheel).read("supportanalytics_tap_thena-1.4.0.dist-info/METADATA")
    assert b"\nVersion: 1.4.0\n" in metadata
    assert b"Requires-Dist: supportanalytics-taps-core~=1.4.0\n" in metadata


def test_a_tag_that_is_not_a_version_is_one_line(clone):
    done = subprocess.run(
        [sys.executable, "scripts/release.py", "versions", "v1.4"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "Not a release version: '1.4' (expected e.g. 0.2.0 or 0.2.0rc1, from a tag v0.2.0)."
    )


def test_after_the_release_the_hub_definitions_install_the_published_names(clone):
    subprocess.run(
        [sys.executable, "scripts/release.py", "install-from", "pypi"], cwd=clone, check=True
    )
    subprocess.run(
        [sys.executable, "scripts/plugin_definitions.py"],
        cwd=clone,
        check=True,
        capture_output=True,
        timeout=300,
    )
    for extractor in generator.EXTRACTORS:
        hub = clone / extractor.hub_file.relative_to(ROOT)
        assert yaml.safe_load(hub.read_text())["pip_url"] == f"supportanalytics-{extractor.name}"
    loader = yaml.safe_load((clone / "hub/loaders/target-duckdb/supportanalytics.yml").read_text())
    assert loader["pip_url"] == "supportanalytics-target-duckdb-exact"
    # Nothing else the generator writes changes.
    changed = subprocess.run(
        ["git", "diff", "--name-only"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(changed) == {
        "pyproject.toml",
        "hub/loaders/target-duckdb/supportanalytics.yml",
        *(str(e.hub_file.relative_to(ROOT)) for e in generator.EXTRACTORS),
    }
