"""The fault matrix's parts: one profile per tap, fault scripts, kills, secret forms.

Every cell runs the tap's real CLI in a subprocess against its simulator (as a user
would), with a logging config passed through SINGER_SDK_LOG_CONFIG that routes the
root logger and urllib3 (DEBUG) to a file, so the secret check covers that file too.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
import random
import subprocess
import sys
import time
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

from kit_dixa import API_TOKEN as DIXA_TOKEN
from kit_dixa import FEW_CONVERSATIONS as DIXA_FEW_CONVERSATIONS
from kit_khoros import USERNAME as KHOROS_USER
from kit_thankful import API_KEY as THANKFUL_KEY
from kit_thankful import thankful_config
from kit_thena import API_KEY as THENA_KEY
from kit_thena import thena_config
from kit_xenioo import ACCOUNT_KEY as XENIOO_ACCOUNT_KEY
from kit_xenioo import BOT_SETTINGS as XENIOO_BOTS
from kit_xenioo import simulator as xenioo_simulator
from tap_runner import SingerOutput

from support_simulators.dixa import DixaSimulator
from support_simulators.framework import Fault, VendorSimulator
from support_simulators.khoros import KhorosSimulator
from support_simulators.thankful import ThankfulSimulator
from support_simulators.thena import ThenaSimulator

UTC = dt.timezone.utc
#: Seconds a cell's tap may run before the cell fails (a hang is a finding, not a wait).
RUN_TIMEOUT = 180
#: request_timeout given to the taps in the "slow answers" cell; the slow answers take longer.
SLOW_TIMEOUT = 2
SLOW_DELAY = SLOW_TIMEOUT + 1.5
#: Khoros secrets with characters that URL-encoding and base64 change, so those forms differ.
KHOROS_PASSWORD = "khoros-pass+5d2e/8b17"
KHOROS_COMPANY_KEY = "khoros-company+9f4a/61c3"


@dataclass
class TapProfile:
    """How the matrix runs one tap: its simulator, a short config, its secrets."""

    tap: str
    make_simulator: t.Callable[[], VendorSimulator]
    make_config: t.Callable[[VendorSimulator], dict]
    #: Requests a clean run makes, roughly: scripted faults are spread over this many.
    requests: int
    #: Secrets beyond the config's own (e.g. tokens the simulator issued).
    extra_secrets: t.Callable[[VendorSimulator, dict], dict[str, str]] = lambda sim, config: {}
    #: State handed to the next run after a kill (Xenioo: the next run is an hour later).
    next_run_state: t.Callable[[VendorSimulator, dict], dict] = lambda sim, state: state
    #: Setting names whose values are secrets.
    secret_settings: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        """The tap's Python package (`python -m <module>`)."""
        return self.tap.replace("-", "_")

    def secrets(self, sim: VendorSimulator, config: dict) -> dict[str, str]:
        """Every secret of the run, by a name that says which it is (never its value)."""
        values: dict[str, str] = {}
        for name in self.secret_settings:
            value = config.get(name)
            if isinstance(value, list):  # Xenioo's bots: [{name, api_key}]
                values.update(
                    {f"{name}[{n}].api_key": item["api_key"] for n, item in enumerate(value)}
                )
            elif value:
                values[name] = str(value)
        return {**values, **self.extra_secrets(sim, config)}


def _xenioo_next_run(sim: VendorSimulator, state: dict) -> dict:
    """The next scheduled run comes after Xenioo's throttle hour: the state as it looks then.

    Its `last_called_at` stamps move 61 minutes back, which is what they are to a tap run
    61 minutes later. The simulator's clock is left alone (the kill cell turns its throttle
    off instead), so the tap's and the simulator's "today" stay the same day.
    """
    state = json.loads(json.dumps(state))

    def age(node: t.Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "last_called_at" and isinstance(value, str):
                    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                    node[key] = (moment - dt.timedelta(minutes=61)).isoformat()
                else:
                    age(value)
        elif isinstance(node, list):
            for item in node:
                age(item)

    age(state)
    return state


def _khoros_basic(sim: VendorSimulator, config: dict) -> dict[str, str]:
    """`user:password`, whose base64 is the Basic credential (secret_forms derives it)."""
    return {"username:password": f"{config['username']}:{config['password']}"}


PROFILES: dict[str, TapProfile] = {
    "tap-thena": TapProfile(
        "tap-thena",
        lambda: ThenaSimulator(api_key=THENA_KEY),
        lambda sim: thena_config(sim, end_date="2025-01-22", lookback_days=1, retry_base_wait=None),
        requests=3,
        secret_settings=("api_key",),
    ),
    "tap-thankful": TapProfile(
        "tap-thankful",
        lambda: ThankfulSimulator(api_key=THANKFUL_KEY),
        lambda sim: thankful_config(
            sim, end_date="2025-01-06", lookback_days=1, retry_base_wait=None, max_retry_wait=None
        ),
        requests=16,
        secret_settings=("api_key",),
    ),
    "tap-dixa": TapProfile(
        "tap-dixa",
        # Every stream, with a few rows of each: a clean run makes about 65 requests.
        lambda: DixaSimulator(api_token=DIXA_TOKEN, conversations_per_day=DIXA_FEW_CONVERSATIONS),
        lambda sim: {
            "api_token": DIXA_TOKEN,
            "api_url": sim.url,
            "exports_api_url": sim.url,
            "start_date": "2025-01-06",
            "end_date": "2025-01-09",
            "timezone": "UTC",
        },
        requests=40,
        secret_settings=("api_token",),
    ),
    "tap-xenioo": TapProfile(
        "tap-xenioo",
        xenioo_simulator,
        lambda sim: {
            "account_api_key": XENIOO_ACCOUNT_KEY,
            "auth_url": sim.url,
            "api_url": sim.url,
            "bots": XENIOO_BOTS,
        },
        requests=5,
        secret_settings=("account_api_key", "bots"),
        extra_secrets=lambda sim, config: {
            f"issued token {n}": token  # type: ignore[attr-defined]
            for n, token in enumerate(sim.issued_tokens)
        },
        next_run_state=_xenioo_next_run,
    ),
    "tap-khoros-care": TapProfile(
        "tap-khoros-care",
        lambda: KhorosSimulator(
            username=KHOROS_USER,
            password=KHOROS_PASSWORD,
            company_key=KHOROS_COMPANY_KEY,
            job_latency=(0.05, 0.3),
            # The fixed 2025 dates below stay inside the history the simulator keeps.
            history_months=36,
        ),
        lambda sim: {
            "username": KHOROS_USER,
            "password": KHOROS_PASSWORD,
            "company_key": KHOROS_COMPANY_KEY,
            "api_url": sim.api_url,
            "start_date": "2025-03-01",
            "end_date": "2025-03-03",
            "report_types": ["response", "author", "team_performance"],
            "requests_per_minute": 6000,
            "poll_interval": 0.1,
            "max_poll_interval": 0.3,
            # Daily windows: enough jobs for the scripted faults and the kill points to land
            # between them (the default three-month window makes one job per report type).
            "window_days": 1,
            "history_months": 36,
        },
        requests=24,
        secret_settings=("password", "company_key"),
        extra_secrets=_khoros_basic,
    ),
}

#: Retry settings every cell uses: quick waits so a cell takes seconds, not minutes.
FAST_RETRIES = {
    "retry_base_wait": 0.05,
    "max_retry_after": 2,
    "max_retry_wait": 60,
    "max_retries": 8,
}


# ---- faults -----------------------------------------------------------------------------------


def spread(rng: random.Random, requests: int, faults: list[Fault]) -> list[Fault]:
    """The faults, each after a seeded number of normal answers, spread over a run's requests."""
    gap = max(1, requests // (len(faults) + 1))
    for fault in faults:
        fault.skip = rng.randint(0, gap)
    return faults


def http_date_in(seconds: float) -> t.Callable[[], str]:
    return lambda: formatdate(time.time() + seconds, usegmt=True)


TRUNCATED_JSON = b'{"data": [{"id": 1, "name": "cut he'


def echo_page(secrets: dict[str, str]) -> bytes:
    """A 500 error page that echoes the request back, credentials included (as some proxies do)."""
    echoed = "<br>".join(f"{form}" for form in sorted(secret_forms(secrets)))
    return (
        f"<html><body><h1>500 Internal Server Error</h1><p>Request headers:<br>{echoed}</p>"
        "</body></html>"
    ).encode()


# ---- running ----------------------------------------------------------------------------------


@dataclass
class CellRun(SingerOutput):
    """One tap process: what it wrote, and the log file its logging config wrote."""

    returncode: int | None
    stdout: str
    stderr: str
    log: str
    lines: list[str] = field(default_factory=list)  # the stdout lines a target read
    killed: bool = False

    @property
    def messages(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]


def log_config(path: Path) -> Path:
    """A SINGER_SDK_LOG_CONFIG file: root (INFO) into `path`, urllib3 (DEBUG) into its own file.

    urllib3 gets a handler of its own that the root logger does not have (and does not
    propagate), as a user routing it elsewhere would: masking must cover that handler too.
    """
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "filename": str(path), "formatter": "plain"},
            "urllib3_file": {
                "class": "logging.FileHandler",
                "filename": str(path.with_suffix(".urllib3.log")),
                "formatter": "plain",
            },
        },
        "root": {"level": "INFO", "handlers": ["file"]},
        "loggers": {
            "urllib3": {"level": "DEBUG", "handlers": ["urllib3_file"], "propagate": False}
        },
    }
    config_path = path.with_suffix(".logging.yml")
    config_path.write_text(json.dumps(config))  # JSON is YAML
    return config_path


def run_cell(
    profile: TapProfile,
    config: dict,
    workdir: Path,
    *,
    state: dict | None = None,
    kill_when: t.Callable[[str], bool] | None = None,
    label: str = "run",
) -> CellRun:
    """Run the tap's CLI; with `kill_when`, SIGKILL it once a line a target read makes it true."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{label}.config.json"
    config_path.write_text(json.dumps(config))
    log_path = workdir / f"{label}.log"
    command = [sys.executable, "-m", profile.module, "--config", str(config_path)]
    if state is not None:
        (workdir / f"{label}.state.json").write_text(json.dumps(state))
        command += ["--state", str(workdir / f"{label}.state.json")]
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SINGER_SDK_LOG_CONFIG": str(log_config(log_path)),
    }
    stderr_path = workdir / f"{label}.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=workdir
        )
        lines: list[str] = []
        killed = False
        deadline = time.monotonic() + RUN_TIMEOUT
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.strip())
                if kill_when is not None and kill_when(lines[-1]):
                    process.kill()
                    killed = True
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    raise AssertionError(f"{profile.tap} still running after {RUN_TIMEOUT}s")
            rest = "" if killed else process.stdout.read()
            lines += [line.strip() for line in rest.splitlines()]
            process.wait(timeout=RUN_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stdout = "\n".join(lines)
    logs = "".join(
        p.read_text() for p in (log_path, log_path.with_suffix(".urllib3.log")) if p.exists()
    )
    return CellRun(
        None if killed else process.returncode, stdout, stderr_path.read_text(), logs, lines, killed
    )


def batch_records(messages: list[dict]) -> list[tuple[int, str, dict]]:
    """(position of the BATCH message, stream, record) for every record in every BATCH file."""
    out = []
    for position, message in enumerate(messages):
        if message["type"] != "BATCH":
            continue
        for url in message["manifest"]:
            path = Path(urlsplit(url).path)
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as handle:
                out += [
                    (position, message["stream"], json.loads(line))
                    for line in handle
                    if line.strip()
                ]
    return out


# ---- what is checked --------------------------------------------------------------------------


def secret_forms(secrets: dict[str, str]) -> dict[str, str]:
    """Each secret as sent or logged (as is, URL-encoded, base64, header values) -> its name."""
    forms: dict[str, str] = {}
    for name, secret in secrets.items():
        if not secret:
            continue
        encoded = base64.b64encode(secret.encode()).decode()
        for form, kind in (
            (f"Basic {encoded}", "Basic header"),
            (f"Bearer {secret}", "Bearer header"),
            (encoded, "base64"),
            (quote_plus(secret), "form-encoded"),
            (quote(secret, safe=""), "URL-encoded"),
            (secret, "as is"),
        ):
            forms[form] = f"{name} ({kind})"
    return {form: kind for form, kind in forms.items() if len(form) >= 6}


def leaks(forms: dict[str, str], **texts: str) -> list[str]:
    """Where (stdout, stderr, state, log) which secret form appears; never quoting the secret."""
    found = []
    for where, text in texts.items():
        found += [f"{where}: {kind}" for form, kind in forms.items() if form in text]
    return found


def key_columns(messages: list[dict]) -> dict[str, tuple[str, ...]]:
    return {m["stream"]: tuple(m["key_properties"]) for m in messages if m["type"] == "SCHEMA"}


def keys_by_stream(records: t.Iterable[tuple[str, dict]], expected: dict) -> dict[str, Counter]:
    """Primary-key tuples per stream, counted, in the expected key columns."""
    found: dict[str, Counter] = {stream: Counter() for stream in expected}
    for stream, record in records:
        if stream not in expected:
            found.setdefault(stream, Counter())[("<stream not expected>",)] += 1
            continue
        columns = expected[stream][0]
        found[stream][tuple(record.get(c) for c in columns)] += 1
    return found


def compare_keys(expected: dict, found: dict[str, Counter], *, upsert: bool) -> list[str]:
    """Differences between the simulator's keys and those delivered; [] when exact.

    Without `upsert` (one run), a key delivered twice is a difference too.
    """
    problems = []
    for stream in sorted(set(expected) | set(found)):
        wanted = expected.get(stream, ((), set()))[1]
        got = found.get(stream, Counter())
        missing, extra = wanted - set(got), set(got) - wanted
        twice = [k for k, n in got.items() if n > 1]
        if missing:
            problems.append(
                f"{stream}: {len(missing)} of {len(wanted)} keys missing, "
                f"e.g. {sorted(missing, key=str)[:2]}"
            )
        if extra:
            problems.append(
                f"{stream}: {len(extra)} keys the simulator never served, "
                f"e.g. {sorted(extra, key=str)[:2]}"
            )
        if twice and not upsert:
            problems.append(f"{stream}: {len(twice)} keys emitted more than once in one run")
    return problems


def parse_moment(value: t.Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bookmarks_in(state: dict) -> list[tuple[str, dict, str, dt.datetime]]:
    """(stream, partition context, replication key, bookmark) for every bookmark in a state."""
    out = []
    for stream, entry in (state.get("bookmarks") or {}).items():
        for part in [entry, *entry.get("partitions", [])]:
            moment = parse_moment(part.get("replication_key_value"))
            if moment is not None and part.get("replication_key"):
                out.append((stream, part.get("context") or {}, part["replication_key"], moment))
    return out


def states_ahead_of_batches(
    messages: list[dict], records: list[tuple[int, str, dict]]
) -> list[str]:
    """STATE messages whose bookmark covers records no earlier BATCH message carried.

    A target may stop after any STATE and keep that state: every record of the stream
    (and partition) before the bookmark must already be in a BATCH file it has read.
    """
    problems = []
    for position, message in enumerate(messages):
        if message["type"] != "STATE":
            continue
        for stream, context, key, bookmark in bookmarks_in(message["value"]):
            late = [
                r
                for at, s, r in records
                if s == stream
                and at > position
                and all(r.get(k) == v for k, v in context.items())
                and (parse_moment(r.get(key)) or bookmark) < bookmark
            ]
            if late:
                problems.append(
                    f"STATE #{position} bookmarks {stream}{context or ''} "
                    f"at {bookmark.isoformat()} "
                    f"before the BATCH carrying {len(late)} of its earlier records"
                )
    return problems
