"""The wheel carries the schemas: build it, install it in a fresh venv, discover."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAP_SCRIPTS = ["tap-thankful", "tap-dixa", "tap-thena", "tap-xenioo", "tap-khoros-care"]


def test_wheel_installs_in_a_fresh_venv_and_discovers_from_packaged_schemas(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, timeout=600)
    wheel = next(tmp_path.glob("support_analytics_taps-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "support_taps/schemas/thena/requests.json" in names
    for package in ("support_taps/client.py", "support_simulators/framework.py", "tap_thena/tap.py"):
        assert package in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for script in TAP_SCRIPTS:
        assert f"{script} = " in entry_points

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=900)

    # Run from an empty folder, so nothing can come from this checkout.
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    config = workdir / "config.json"
    config.write_text(json.dumps({"api_key": "k", "workspace": "acme", "start_date": "2025-01-01"}))
    done = subprocess.run([str(env_dir / "bin" / "tap-thena"), "--config", str(config), "--discover"],
                          cwd=workdir, capture_output=True, text=True, timeout=120, check=True)
    catalog = json.loads(done.stdout)
    stream = next(s for s in catalog["streams"] if s["tap_stream_id"] == "requests")
    assert stream["key_properties"] == ["request_id"]
    assert stream["schema"]["properties"]["created_datetime"]["format"] == "date-time"

    where = subprocess.run([str(python), "-c", "import support_taps.schemas as s; print(s.schema_directory('thena').dir_path)"],
                           cwd=workdir, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where, where  # found inside the installed package, not the checkout
