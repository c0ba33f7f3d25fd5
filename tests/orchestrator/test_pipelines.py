"""The orchestrator finds its pipelines in the Meltano project (support_orchestrator.project)."""

from __future__ import annotations

import shutil
from pathlib import Path

import accounts

from support_orchestrator.project import pipelines

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, accounts_text: str) -> Path:
    shutil.copy(ROOT / "meltano.yml", tmp_path / "meltano.yml")
    (tmp_path / "accounts.yml").write_text(accounts_text)
    assert accounts.main(["--project", str(tmp_path)]) == 0
    return tmp_path


def test_a_tap_with_accounts_runs_as_its_accounts_the_others_as_themselves(tmp_path):
    project = _project(
        tmp_path,
        "tap-dixa:\n  - account: acme\n  - account: acme-eu\ntap-thena:\n  - account: initech\n",
    )
    found = [(p.extractor, p.tap, p.account, p.name) for p in pipelines(project)]
    assert found == [
        ("tap-thankful", "tap-thankful", "default", "tap_thankful"),
        ("tap-dixa--acme", "tap-dixa", "acme", "tap_dixa__acme"),
        ("tap-dixa--acme-eu", "tap-dixa", "acme-eu", "tap_dixa__acme_eu"),
        ("tap-thena--initech", "tap-thena", "initech", "tap_thena__initech"),
        ("tap-xenioo", "tap-xenioo", "default", "tap_xenioo"),
        ("tap-khoros-care", "tap-khoros-care", "default", "tap_khoros_care"),
    ]


def test_this_repositorys_project_runs_each_tap_as_itself():
    assert [p.extractor for p in pipelines(ROOT)] == [
        "tap-thankful",
        "tap-dixa",
        "tap-thena",
        "tap-xenioo",
        "tap-khoros-care",
    ]


def test_a_pipeline_sees_its_own_accounts_variables_and_no_other_accounts(tmp_path):
    project = _project(tmp_path, "tap-dixa:\n  - account: acme\n  - account: acme-eu\n")
    acme, acme_eu = (p for p in pipelines(project) if p.tap == "tap-dixa")
    environ = {
        "TAP_DIXA__ACME_API_TOKEN": "a",
        "TAP_DIXA__ACME_EU_API_TOKEN": "b",
        "TAP_DIXA_START_DATE": "2024-01-01",  # the tap's, shared by its accounts
        "MELTANO_DATABASE_URI": "postgresql://...",
    }
    assert acme.environment(environ) == {
        "TAP_DIXA__ACME_API_TOKEN": "a",
        "TAP_DIXA_START_DATE": "2024-01-01",
        "MELTANO_DATABASE_URI": "postgresql://...",
    }
    assert acme_eu.environment(environ) == {
        "TAP_DIXA__ACME_EU_API_TOKEN": "b",
        "TAP_DIXA_START_DATE": "2024-01-01",
        "MELTANO_DATABASE_URI": "postgresql://...",
    }
