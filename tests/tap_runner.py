"""Run a tap as a user would (its CLI, in a subprocess) and read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    messages: list[dict] = field(default_factory=list)

    def records(self, stream: str | None = None) -> list[dict]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict | None:
        states = self.states()
        return states[-1] if states else None

    def bookmark(self, stream: str, state: dict | None = None) -> str | None:
        state = self.final_state if state is None else state
        return ((state or {}).get("bookmarks", {}).get(stream) or {}).get("replication_key_value")

    def bookmarks(self, stream: str) -> list[str]:
        """Every distinct bookmark value the run emitted for `stream`, in order."""
        seen: list[str] = []
        for state in self.states():
            value = self.bookmark(stream, state)
            if value and (not seen or seen[-1] != value):
                seen.append(value)
        return seen

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_tap(
    module: str,
    config: dict,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 300,
    env: dict | None = None,
) -> TapRun:
    """`python -m <module> --config ... [--state ...] [--catalog ...]`."""
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp, "config.json")
        config_path.write_text(json.dumps(config))
        command = [sys.executable, "-m", module, "--config", str(config_path), *args]
        if state is not None:
            Path(tmp, "state.json").write_text(json.dumps(state))
            command += ["--state", str(Path(tmp, "state.json"))]
        if catalog is not None:
            Path(tmp, "catalog.json").write_text(json.dumps(catalog))
            command += ["--catalog", str(Path(tmp, "catalog.json"))]
        started = time.monotonic()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    run = TapRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
    if "--discover" in args or "--about" in args:
        return run  # not Singer messages
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            run.messages.append(json.loads(line))
    return run
