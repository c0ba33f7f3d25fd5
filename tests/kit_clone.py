"""A `git clone` of this checkout as it is now: what a user's pip or Meltano gets from the
repository's URL, with the working tree's uncommitted changes committed in the clone (so a test
run before a commit tests the change, and pip's own clone of it sees the same)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def clone_of_working_tree(dest: Path) -> Path:
    """`dest`: a clone of this repository whose HEAD is the working tree (tracked and new
    files, deletions; ignored files left out)."""
    _git("clone", "-q", str(ROOT), str(dest), cwd=ROOT)
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source, target = ROOT / name, dest / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        if source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(source), target)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git("add", "-A", cwd=dest)
    _git(
        "-c",
        "user.name=tests",
        "-c",
        "user.email=tests@localhost",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "The working tree",
        cwd=dest,
    )
    return dest
