"""The hostile-answer matrix's parts: each tap's profile, its endpoints (found from the tap
itself), the clean run each cell is measured against, and one cell's run.

A cell is (tap, endpoint, answer class): the tap runs against its simulator, every other
endpoint answers as usual, and the one endpoint answers with the class (an intercept on the
simulator, or on the host its download links lead to). The run selects only the streams
that use the endpoint (and their child streams), over a short range with small retry
settings, so a cell takes about a second; `kit_invariant.check` judges what it did.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib
import json
import os
import subprocess
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from kit_answers import (
    AnswerClass,
    Situation,
    Target,
    body_of,
    dicts_in,
    is_number,
    is_update_stamp,
    row_lists,
)
from kit_dixa import FEW_CONVERSATIONS, dixa_config
from kit_hostile import Elsewhere
from kit_thankful import thankful_config
from kit_thena import thena_config
from tap_runner import TapRun, run_tap

from support_simulators.dixa import DixaSimulator
from support_simulators.framework import LoopbackServer, SimRequest, SimResponse, VendorSimulator
from support_simulators.khoros import KhorosSimulator
from support_simulators.thankful import ThankfulSimulator
from support_simulators.thena import ThenaSimulator
from support_simulators.xenioo import XeniooSimulator
from support_taps.endpoints import Endpoint, tap_endpoints
from support_taps.tap import SupportTap

#: Every "random" choice of the matrix (which class the fast suite samples for an endpoint,
#: which option a cell starts from) comes from this: the issue's number.
SEED = 18

#: The settings every cell runs with: a request may take `request_deadline` seconds, is tried
#: twice, and waits at most `max_backoff` between; the budget of a cell follows from them.
SETTINGS: dict[str, t.Any] = {
    "request_timeout": 2,
    "request_deadline": 1.5,
    "max_retries": 1,
    "retry_base_wait": 0.01,
    "max_backoff": 0.1,
    "max_retry_after": 0.3,
    "max_retry_wait": 5,
    "max_connect_retries": 0,
}
#: A stream may ask again for what an endpoint failed to give (a report file is fetched three
#: times, each with its retries): a cell's budget allows this many rounds of retries.
ROUNDS = 3

# Secrets with characters that URL-encoding, base64, JSON and repr each change, so every
# derived form differs from the plain one.
THENA_KEY = 'th3na+Key/"q\\9Zx%41'
THANKFUL_KEY = 'thank+Key/"q\\8Yw%42'
DIXA_TOKEN = 'dixa+Tok/"q\\7Xv%43'
XENIOO_ACCOUNT_KEY = 'xen+Acct/"q\\6Wu%44'
XENIOO_BOTS = {"xb+support+5Vt%45": "Support Assistant", "xb+sales+4Us%46": "Sales Concierge"}
KHOROS_USER = "analytics-hostile-user"
KHOROS_PASSWORD = 'khoros-pass+5d2e/8b"17\\x'
KHOROS_COMPANY_KEY = "khoros-company+9f4a/61c3%47"


@dataclass(frozen=True)
class Profile:
    """How the matrix runs one tap."""

    name: str
    module: str
    make_simulator: t.Callable[[], VendorSimulator]
    make_config: t.Callable[[VendorSimulator], dict]
    #: Secret values beyond the settings marked secret (e.g. `user:password`), by name.
    extra_secrets: t.Callable[[VendorSimulator, dict], dict[str, str]] = lambda sim, config: {}
    #: Only endpoints of these kinds (None: all), for a variant of another profile.
    kinds: tuple[str, ...] | None = None

    @property
    def tap_class(self) -> type[SupportTap]:
        module = importlib.import_module(f"{self.module}.tap")
        return next(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, SupportTap)
            and value.__module__ == module.__name__
        )

    def config(self, sim: VendorSimulator) -> dict:
        return {**self.make_config(sim), **SETTINGS}

    def secrets(self, sim: VendorSimulator, config: dict) -> dict[str, str]:
        """Every secret of a run (the settings the tap's schema marks secret, and the extra
        ones), by a name that says which, never its value."""
        found = dict(secret_settings(self.tap_class.config_jsonschema, config))
        return {**found, **self.extra_secrets(sim, config)}


def secret_settings(
    schema: dict, value: t.Any, path: str = "", inherited: bool = False
) -> t.Iterator[tuple[str, str]]:
    """(`setting path`, value) of each value the schema marks secret: the setting itself, or
    the fields of its items that are marked (a list of bots: their `api_key`, not names)."""
    marked = inherited or bool(schema.get("secret"))
    inner = json.dumps(schema.get("properties", {})) + json.dumps(schema.get("items", {}))
    pass_down = marked and '"secret": true' not in inner
    if isinstance(value, dict):
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, {})
            yield from secret_settings(sub, item, f"{path}.{key}" if path else key, pass_down)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_settings(
                schema.get("items") or {}, item, f"{path}[{index}]", pass_down
            )
    elif marked and isinstance(value, str) and value:
        yield f"`{path}`", value


def _khoros(report_format: str) -> t.Callable[[VendorSimulator], dict]:
    return lambda sim: {
        "username": KHOROS_USER,
        "password": KHOROS_PASSWORD,
        "company_key": KHOROS_COMPANY_KEY,
        "api_url": t.cast(KhorosSimulator, sim).api_url,
        "start_date": "2025-03-01",
        "end_date": "2025-03-02",
        # One report started with a GET, one with a POST form body.
        "report_types": ["author", "conversation_actions"],
        "report_format": report_format,
        "requests_per_minute": 60000,
        "poll_interval": 0.05,
        "max_poll_interval": 0.1,
        "window_days": 1,
        "history_months": 36,
    }


def _khoros_simulator() -> VendorSimulator:
    return KhorosSimulator(
        username=KHOROS_USER,
        password=KHOROS_PASSWORD,
        company_key=KHOROS_COMPANY_KEY,
        job_latency=(0.02, 0.05),
        history_months=36,
    )


def _basic_pair(sim: VendorSimulator, config: dict) -> dict[str, str]:
    return {"username:password": f"{config['username']}:{config['password']}"}


def _xenioo() -> VendorSimulator:
    return XeniooSimulator(account_api_key=XENIOO_ACCOUNT_KEY, bots=XENIOO_BOTS)


def _thena(sim: VendorSimulator) -> dict:
    return thena_config(sim, api_key=THENA_KEY, end_date="2025-01-15", lookback_days=1)


def _thankful_simulator() -> VendorSimulator:
    return ThankfulSimulator(api_key=THANKFUL_KEY)


def _thankful(sim: VendorSimulator) -> dict:
    return thankful_config(sim, api_key=THANKFUL_KEY, end_date="2025-01-03", lookback_days=1)


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("tap-thena", "tap_thena", lambda: ThenaSimulator(api_key=THENA_KEY), _thena),
        Profile("tap-thankful", "tap_thankful", _thankful_simulator, _thankful),
        Profile(
            "tap-dixa",
            "tap_dixa",
            # Few conversations: each is a notes request at Dixa's paced rate, and every
            # endpoint's facts (paged, versioned, numeric ids) are the same as at 40 a day.
            lambda: DixaSimulator(api_token=DIXA_TOKEN, conversations_per_day=FEW_CONVERSATIONS),
            lambda sim: dixa_config(
                sim,
                api_token=DIXA_TOKEN,
                end_date="2025-01-08",
                record_ids=["conversations"],
                metric_ids=["created_conversations"],
                page_limit=20,  # small pages, so every list and record pages
            ),
        ),
        Profile(
            "tap-xenioo",
            "tap_xenioo",
            _xenioo,
            extra_secrets=lambda sim, config: {
                f"auth token {n}": token  # the simulator issued it
                for n, token in enumerate(t.cast(XeniooSimulator, sim).issued_tokens)
            },
            make_config=lambda sim: {
                "account_api_key": XENIOO_ACCOUNT_KEY,
                "auth_url": sim.url,
                "api_url": sim.url,
                "bots": [{"name": name, "api_key": key} for key, name in XENIOO_BOTS.items()],
            },
        ),
        Profile(
            "tap-khoros-care",
            "tap_khoros_care",
            _khoros_simulator,
            _khoros("json"),
            extra_secrets=_basic_pair,
        ),
        Profile(
            "tap-khoros-care-csv",
            "tap_khoros_care",
            _khoros_simulator,
            _khoros("csv"),
            extra_secrets=_basic_pair,
            kinds=("report file",),
        ),
    )
}


# ---- endpoints, from the taps themselves --------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One endpoint of a tap, as the matrix runs it."""

    profile: str
    endpoint: Endpoint
    #: The streams a run selects to reach it: those that use it, and their child streams.
    streams: tuple[str, ...]
    target: Target
    #: The settings an error about its credentials, or its URL, must name (one of them).
    settings_named: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: The streams whose rows its answers hold (`streams` less the child streams, whose rows
    #: come from requests of their own).
    users: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.profile}:{self.endpoint.label}"


@contextlib.contextmanager
def simulated(profile: Profile) -> t.Iterator[tuple[VendorSimulator, dict]]:
    with profile.make_simulator() as sim:
        # Rate limits and throttles are the fault matrix's (tests/faults); here a 429 the
        # cell did not send would spend a retry the cell's answer needs. Xenioo: every cell
        # is a run of its own hour.
        sim.faults.rate_limit = None
        if hasattr(sim, "throttle"):
            sim.throttle = False
        yield sim, profile.config(sim)


def discovered(profile_name: str) -> tuple[tuple[Found, ...], str]:
    """The endpoints of a profile's tap (from its streams' declarations) and its catalog."""
    facts = observed(profile_name)
    found = [
        Found(
            profile_name,
            Endpoint(**entry["endpoint"]),
            tuple(entry["streams"]),
            Target(**entry["target"]),
            tuple((name, tuple(values)) for name, values in entry["named"]),
            tuple(entry["users"]),
        )
        for entry in facts["endpoints"]
    ]
    return tuple(sorted(found, key=lambda f: f.id)), facts["catalog"]


@functools.cache
def observed(profile_name: str) -> dict[str, t.Any]:
    """What a full clean run of a profile's tap shows: its endpoints (as its streams declare
    them), what each answers, every request it made, and its catalog. Made once per test
    session: a file the xdist workers share (they collect the tests at the same time)."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_id is None:
        return _observe(PROFILES[profile_name])
    shared = Path(tempfile.gettempdir()) / f"pytest-hostile-{run_id}"
    shared.mkdir(exist_ok=True)
    path = shared / f"{profile_name}.json"
    with open(shared / f"{profile_name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.write_text(json.dumps(_observe(PROFILES[profile_name])))
    return t.cast(dict, json.loads(path.read_text()))


def _observe(profile: Profile) -> dict[str, t.Any]:
    with simulated(profile) as (sim, config):
        tap = profile.tap_class(config=config)
        streams = tap.streams
        declared = tap_endpoints(tap)
        answers: dict[Endpoint, list[bytes]] = {endpoint: [] for endpoint in declared}
        for endpoint in declared:
            base = str(config[endpoint.url_setting]) if endpoint.url_setting else ""
            for server in [sim] if endpoint.url_setting else sim.companions():
                server.intercept(
                    endpoint.method, endpoint.pattern(base), _recorder(answers[endpoint])
                )
        catalog = json.dumps(tap.catalog_dict)
        sim.reset_log()
        run = run_tap(profile.module, config)
        assert run.returncode == 0, f"a clean run of {profile.name} failed:\n{run.stderr[-3000:]}"
        requests = [("simulator", r.method, r.path) for r in sim.calls()]
        for companion in sim.companions():
            requests += [
                (companion.name, r.get("method", "GET"), r["path"])
                for r in getattr(companion, "requests", [])
            ]
    endpoints = []
    for endpoint, users in declared.items():
        if profile.kinds is not None and endpoint.kind not in profile.kinds:
            continue
        using = [streams[name] for name in users]
        children = [
            stream.name
            for stream in streams.values()
            if stream.parent_stream_type is not None
            and any(isinstance(user, stream.parent_stream_type) for user in using)
        ]
        keys = {key for stream in using for key in stream.primary_keys or ()}
        target = answer_facts(answers[endpoint], keys)
        target["paged"] = target["paged"] and any(s.get_new_paginator() is not None for s in using)
        endpoints.append(
            {
                "endpoint": endpoint.__dict__,
                "streams": [*users, *children],
                "users": list(users),
                "target": target,
                "named": [
                    ["credentials", sorted({n for s in using for n in s.credential_settings})],
                    ["url", sorted({n for s in using for n in s.url_settings})],
                ],
            }
        )
    return {
        "endpoints": endpoints,
        "declared": [endpoint.__dict__ for endpoint in declared],
        "catalog": catalog,
        "requests": requests,
        "urls": {name: str(value) for name, value in config.items() if "url" in name},
    }


def _recorder(
    into: list[bytes],
) -> t.Callable[[SimRequest, t.Callable[[], SimResponse | None]], t.Any]:
    """An intercept answer that answers as usual and keeps the first few 2xx bodies."""

    def answer(request: SimRequest, normal: t.Callable[[], SimResponse | None]) -> t.Any:
        response = normal()
        if response is None or not 200 <= response.status < 300 or len(into) >= 5:
            return response
        body = body_of(response)
        into.append(body)
        return SimResponse(response.status, body, dict(response.headers))

    return answer


def answer_facts(bodies: list[bytes], keys: set[str]) -> dict[str, bool]:
    """What the usual answers of an endpoint hold, for the classes that spoil them; `keys`
    are its streams' key columns."""
    payloads = []
    for body in bodies:
        try:
            payloads.append(json.loads(body))
        except ValueError:
            continue
    rows = [row for payload in payloads for rows in row_lists(payload) for row in rows]
    return {
        "answers_json": bool(payloads),
        "has_rows": bool(rows),
        "numeric_ids": any(is_number(row.get(key)) for row in rows for key in keys),
        "paged": any("next" in node for payload in payloads for node in dicts_in(payload)),
        "versioned": any(
            is_update_stamp(name, value) for row in rows for name, value in row.items()
        ),
    }


def selected_catalog(catalog_json: str, streams: t.Iterable[str]) -> dict:
    catalog = json.loads(catalog_json)
    wanted = set(streams)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in wanted
    return catalog


def stable_number(*parts: object) -> int:
    """A number from `parts`, the same in every process and run."""
    digest = hashlib.sha256(":".join(map(str, (SEED, *parts))).encode()).digest()
    return int.from_bytes(digest[:4], "big")


# ---- the clean run a cell is measured against ---------------------------------------------------


@dataclass
class Reference:
    """A clean run of the same selection: its keys, records and time."""

    seconds: float
    key_properties: dict[str, list[str]]
    replication_keys: dict[str, str | None]
    records: dict[str, list[dict]]

    def keys(self, stream: str) -> set[tuple]:
        columns = self.key_properties.get(stream, [])
        return {tuple(_hashable(r.get(c)) for c in columns) for r in self.records.get(stream, [])}


def _hashable(value: t.Any) -> t.Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def reference(found: Found, shared_dir: Path) -> Reference:
    """The clean run of `found`'s selection, made once for every xdist worker (a file under a
    lock in the directory the workers share), and checked against the simulator's own keys."""
    name = hashlib.sha256(f"{found.profile}:{found.streams}".encode()).hexdigest()[:16]
    path = shared_dir / f"{name}.json"
    shared_dir.mkdir(parents=True, exist_ok=True)
    with open(shared_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.write_text(json.dumps(_clean_run(found).__dict__))
    return Reference(**json.loads(path.read_text()))


def _clean_run(found: Found) -> Reference:
    profile = PROFILES[found.profile]
    _, catalog = discovered(found.profile)
    with simulated(profile) as (sim, config):
        run = run_tap(profile.module, config, catalog=selected_catalog(catalog, found.streams))
        expected = sim.expected_primary_keys(config)
    assert run.returncode == 0, f"the clean run of {found.streams} failed:\n{run.stderr[-3000:]}"
    schemas = run.schemas()
    records = {stream: run.records(stream) for stream in found.streams}
    ref = Reference(
        run.seconds,
        {s: list(schemas[s]["key_properties"]) for s in found.streams if s in schemas},
        {
            s: (schemas[s].get("bookmark_properties") or [None])[0]
            for s in found.streams
            if s in schemas
        },
        records,
    )
    for stream in found.streams:
        if stream in expected:
            columns, keys = expected[stream]
            landed = {tuple(r.get(c) for c in columns) for r in records[stream]}
            assert landed == keys, (
                f"the clean run of {stream} does not land the simulator's keys: "
                f"{len(keys - landed)} missing, {len(landed - keys)} extra"
            )
    return ref


# ---- one cell -----------------------------------------------------------------------------------


@dataclass
class CellRun:
    """What a cell's run did, and what the hostile endpoint and the other hosts saw."""

    run: TapRun | None
    timed_out: bool
    log: str
    served: int
    notes: dict[str, t.Any]
    #: Every request another host received (whole: line, headers, body), by host.
    other_hosts: dict[str, list[str]] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def budget(ref: Reference) -> float:
    """Seconds a cell's run may take: the clean run's time thrice, plus every round of retries a
    failing endpoint may cost (`ROUNDS` x tries x (deadline + backoff)), plus start-up slack."""
    tries = SETTINGS["max_retries"] + 1
    per_try = SETTINGS["request_deadline"] + SETTINGS["max_backoff"]
    return 3 * ref.seconds + ROUNDS * tries * per_try + 5


def run_cell(
    found: Found, answer: AnswerClass, params: dict, ref: Reference, workdir: Path
) -> CellRun:
    profile = PROFILES[found.profile]
    _, catalog = discovered(found.profile)
    endpoint = found.endpoint
    with simulated(profile) as (sim, config), Elsewhere() as elsewhere:
        servers: list[LoopbackServer] = (
            [sim] if endpoint.url_setting is not None else sim.companions()
        )
        assert servers, f"{endpoint.label} is on a host {found.profile}'s simulator does not run"
        base = str(config[endpoint.url_setting]) if endpoint.url_setting else ""
        situation = Situation(
            params={**params, "vendor_refusal": _refusal(servers[0], endpoint)},
            secrets=profile.secrets(sim, config),
            elsewhere=elsewhere,
            keys=frozenset(k for s in found.streams for k in ref.key_properties.get(s, [])),
        )

        def respond(request: SimRequest, normal: t.Callable[[], SimResponse | None]) -> t.Any:
            situation.note("answers")
            return answer.respond(request, normal, situation)

        intercepts = [
            server.intercept(endpoint.method, endpoint.pattern(base), respond, answer.times)
            for server in servers
        ]
        log_path = workdir / "tap.log"
        env = {"SINGER_SDK_LOG_CONFIG": str(log_config(log_path))}
        timed_out, run = False, None
        try:
            run = run_tap(
                profile.module,
                config,
                catalog=selected_catalog(catalog, found.streams),
                env=env,
                timeout=budget(ref) + 30,
                terminate_when=situation.stall_started if answer.expect == "stop" else None,
            )
        except subprocess.TimeoutExpired:
            timed_out = True
        hosts = {"another host": list(elsewhere.requests)}
        for companion in sim.companions():
            hosts[companion.name] = [
                json.dumps(r, default=str) for r in getattr(companion, "requests", [])
            ]
        return CellRun(
            run,
            timed_out,
            "".join(p.read_text() for p in workdir.glob("tap*.log")),
            sum(i.served for i in intercepts),
            dict(situation.notes),
            hosts,
            config,
            profile.secrets(sim, config),  # with what the run obtained (auth tokens)
        )


def _refusal(server: LoopbackServer, endpoint: Endpoint) -> bytes:
    """The vendor's own error body: what its simulator answers a request without credentials
    (asked of its credential check, so no rate limit counts it)."""
    request = SimRequest(
        endpoint.method, endpoint.path.replace("{", "").replace("}", ""), {}, {}, b""
    )
    try:
        check = getattr(server, "authorized", None)
        answer = check(request) if check is not None else None
        answer = answer if answer is not None else server.handle(request)
    except Exception:  # a simulator that cannot answer a bare request: a generic error
        answer = None
    if answer is None or answer.status < 400 or not answer.body:
        return json.dumps({"message": "Unauthorized"}).encode()
    return answer.body


def log_config(path: Path) -> Path:
    """A SINGER_SDK_LOG_CONFIG file: every record at INFO to stderr (as the SDK writes them)
    and to `path`, urllib3's DEBUG records to a file of their own (a handler the root logger
    does not have: masking must reach it too)."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "sdk": {"format": "%(asctime)s | %(levelname)-8s | %(name)s | %(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "sdk",
                "stream": "ext://sys.stderr",
            },
            "file": {"class": "logging.FileHandler", "filename": str(path), "formatter": "sdk"},
            "urllib3_file": {
                "class": "logging.FileHandler",
                "filename": str(path.with_name("tap.urllib3.log")),
                "formatter": "sdk",
            },
        },
        "root": {"level": "INFO", "handlers": ["stderr", "file"]},
        "loggers": {
            "urllib3": {"level": "DEBUG", "handlers": ["urllib3_file"], "propagate": False}
        },
    }
    config_path = path.with_name("logging.json")
    config_path.write_text(json.dumps(config))
    return config_path
