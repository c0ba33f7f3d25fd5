"""Each distribution builds on its own and carries what it needs; a built tap runs from anywhere.

tap-thena is built the way a release is (`python -m build`: an sdist, then the wheel from
that sdist), installed with the core's wheel in a fresh venv and run from an empty folder,
so nothing can come from this checkout: schemas from inside the package, the version from
the distribution's metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = {
    # folder: (distribution, package, executable)
    "taps/support-taps-core": ("supportanalytics-taps-core", "support_taps", None),
    "taps/tap-thankful": ("supportanalytics-tap-thankful", "tap_thankful", "tap-thankful"),
    "taps/tap-dixa": ("supportanalytics-tap-dixa", "tap_dixa", "tap-dixa"),
    "taps/tap-thena": ("supportanalytics-tap-thena", "tap_thena", "tap-thena"),
    "taps/tap-xenioo": ("supportanalytics-tap-xenioo", "tap_xenioo", "tap-xenioo"),
    "taps/tap-khoros-care": (
        "supportanalytics-tap-khoros-care",
        "tap_khoros_care",
        "tap-khoros-care",
    ),
    "simulators": ("supportanalytics-simulators", "support_simulators", "support-simulators"),
    "loaders/target-duckdb-exact": (
        "supportanalytics-target-duckdb-exact",
        "target_duckdb_exact",
        "target-duckdb-exact",
    ),
}
VENDOR_OF = {
    "tap_thankful": "thankful",
    "tap_dixa": "dixa",
    "tap_thena": "thena",
    "tap_xenioo": "xenioo",
    "tap_khoros_care": "khoros",
}


def build(folder: str, out: Path, *, sdist_first: bool = False) -> Path:
    """The distribution's wheel; with sdist_first, built from its sdist (as `python -m build`)."""
    command = [
        sys.executable,
        "-m",
        "build",
        "-q",
        "--no-isolation",
        "-o",
        str(out),
        str(ROOT / folder),
    ]
    subprocess.run(
        command if sdist_first else [*command, "--wheel"],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return next(out.glob(DISTRIBUTIONS[folder][0].replace("-", "_") + "-*.whl"))


def test_every_distribution_ships_only_its_own_package(tmp_path):
    packages = {package for _, package, _ in DISTRIBUTIONS.values()}
    for folder, (distribution, package, executable) in DISTRIBUTIONS.items():
        wheel = build(folder, tmp_path / folder.replace("/", "_"))
        names = zipfile.ZipFile(wheel).namelist()
        top_level = {
            name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
        }
        assert top_level == {package}, (folder, top_level)
        assert not (top_level & (packages - {package}))
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
        assert f"Name: {distribution}\n" in metadata
        assert "License-Expression: Apache-2.0" in metadata
        assert f"{info}/licenses/LICENSE" in names
        if executable:
            entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
            assert f"{executable} = " in entry_points
        if package in VENDOR_OF:
            shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"{package}/schemas/")}
            expected = {p.name for p in (ROOT / "schemas" / VENDOR_OF[package]).glob("*.json")}
            assert shipped == expected and expected, (package, shipped)
            # A tap's wheel needs the core, never the simulators.
            assert "Requires-Dist: supportanalytics-taps-core" in metadata
            assert "simulators" not in metadata.split("\n\n")[0]


def test_sdist_carries_the_schemas_and_builds_the_same_wheel(tmp_path):
    wheel = build("taps/tap-thena", tmp_path, sdist_first=True)
    sdist = next(tmp_path.glob("supportanalytics_tap_thena-*.tar.gz"))
    members = tarfile.open(sdist).getnames()
    assert any(m.endswith("/tap_thena/schemas/requests.json") for m in members), members
    assert "tap_thena/schemas/requests.json" in zipfile.ZipFile(wheel).namelist()


def test_built_tap_runs_from_anywhere_with_its_version_and_packaged_schemas(tmp_path):
    core = build("taps/support-taps-core", tmp_path)
    tap = build("taps/tap-thena", tmp_path, sdist_first=True)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(core), str(tap)], check=True, timeout=900
    )

    workdir = tmp_path / "elsewhere"  # nothing here can come from the checkout
    workdir.mkdir()
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {p["name"] for p in json.loads(installed)}
    assert "supportanalytics-simulators" not in names and "supportanalytics-tap-dixa" not in names

    version = subprocess.run(
        [str(env_dir / "bin" / "tap-thena"), "--version"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.startswith("tap-thena v0.1.0, Meltano SDK v"), version
    about = json.loads(
        subprocess.run(
            [str(env_dir / "bin" / "tap-thena"), "--about", "--format=json"],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert about["version"] == "0.1.0"

    config = workdir / "config.json"
    config.write_text(json.dumps({"api_key": "k", "workspace": "acme", "start_date": "2025-01-01"}))
    done = subprocess.run(
        [str(env_dir / "bin" / "tap-thena"), "--config", str(config), "--discover"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    catalog = json.loads(done.stdout)
    stream = next(s for s in catalog["streams"] if s["tap_stream_id"] == "requests")
    assert stream["key_properties"] == ["_account_id", "request_id"]
    assert stream["schema"]["properties"]["created_datetime"]["format"] == "date-time"

    where = subprocess.run(
        [str(python), "-c", "import tap_thena.streams as s; print(s.THENA_SCHEMAS.dir_path)"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(env_dir) in where, where  # inside the installed package, not the checkout


def test_editable_install_reads_the_repository_schemas():
    import tap_khoros_care.streams
    import tap_thena.streams

    # Through the package's `schemas` link: the files are the repository's, edited in place.
    thena = Path(str(tap_thena.streams.THENA_SCHEMAS.dir_path))
    khoros = Path(str(tap_khoros_care.streams.KHOROS_SCHEMAS.dir_path))
    assert thena.resolve() == ROOT / "schemas" / "thena"
    assert khoros.resolve() == ROOT / "schemas" / "khoros"
    assert (thena / "requests.json").read_bytes() == (
        ROOT / "schemas/thena/requests.json"
    ).read_bytes()
