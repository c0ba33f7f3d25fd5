"""The one invariant every cell of the hostile-answer matrix is held to, written once.

A run, whatever one endpoint answers:
1. ends in bounded time (`kit_matrix.budget`, from the settings the cell passes);
2. lands every row it was served exactly once (each key, none the vendor never served; a row
   left out says so: a WARNING with the count), or fails with exactly one ERROR line (no
   traceback, not "a bug in the tap") naming the endpoint (`METHOD /path`) and, where one
   applies, the setting to check, and quoting no customer data (`kit_answers.CANARY`);
   a run sent SIGTERM stops with status 143;
3. never emits a bookmark past a row it was served and did not emit;
4. lets no secret, in any derived form or cut in two, into stdout, stderr, the state, the log
   files of SINGER_SDK_LOG_CONFIG or a request to another host.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import typing as t
from collections import Counter

from kit_answers import CANARY, AnswerClass, encodings
from kit_matrix import CellRun, Found, Reference, budget

from support_taps.windows import parse_utc

#: A fragment of a secret this long, at its start or end, is what a message cut in the middle
#: of the secret would show.
FRAGMENT = 10


def check(
    cell: CellRun,
    found: Found,
    answer: AnswerClass,
    params: dict[str, t.Any],
    ref: Reference,
) -> list[str]:
    """What the run did wrong (nothing: the invariant holds)."""
    problems: list[str] = []
    limit = budget(ref)
    if cell.timed_out or cell.run is None:
        return [f"still running after {limit + 30:.0f}s (budget {limit:.0f}s)"]
    run = cell.run
    if cell.served == 0:
        problems.append(f"{found.endpoint.label} was never asked: the cell proves nothing")
    if answer.spoils and not cell.notes.get("applied"):
        problems.append(f"{answer.name} found nothing to spoil in the answers of the endpoint")
    if run.seconds > limit:
        problems.append(f"took {run.seconds:.1f}s, past its budget of {limit:.1f}s")
    problems += _outcome(run, answer, params, found, dict(found.settings_named))
    missing_allowed = _rows(run, answer, found, ref, cell.notes, problems)
    problems += _state(run, answer, found, ref, missing_allowed, cell.config)
    problems += _secrets(cell)
    return problems


# ---- 2. exit, the one line -------------------------------------------------------------------


def _outcome(
    run: t.Any,
    answer: AnswerClass,
    params: dict[str, t.Any],
    found: Found,
    settings_named: dict[str, tuple[str, ...]],
) -> list[str]:
    code = run.returncode
    problems = []
    if answer.expect == "stop":
        if code != 143:
            problems.append(f"sent SIGTERM while waiting, it exited {code}, not 143")
        return problems
    if code == 0:
        if answer.expect == "fail":
            problems.append(f"exit 0 after {answer.name} ({_params(params)}): nothing to read")
        return problems
    if answer.expect == "recover":
        problems.append(f"exit {code} after one {answer.name} that a retry mends")
    if "Traceback" in run.stderr:
        problems.append("a traceback on stderr")
    errors = run.error_lines()
    if len(errors) != 1:
        shown = " / ".join(line[-300:] for line in errors[:3]) or run.stderr[-600:]
        return [*problems, f"exit {code} with {len(errors)} ERROR lines: {shown}"]
    line = errors[0]
    message = line.split("| ERROR", 1)[1]
    if "bug in the tap" in message:
        problems.append(f"an unexpected error:{message[:400]}")
    if not names_endpoint(message, found):
        problems.append(f"the ERROR line does not name {found.endpoint.label}:{message[:400]}")
    wanted = answer.setting(params)
    status = params.get("status")
    if answer.name == "status_fatal" and status in (401, 403) and found.endpoint.url_setting:
        wanted = "credentials"  # (a file host's refusal is of its link, not our credentials)
    elif answer.name == "status_fatal" and status == 404 and found.endpoint.url_setting:
        wanted = "url"
    if wanted is not None:
        choices = settings_named.get(wanted, (wanted,))
        if not any(f"`{name}`" in message for name in choices):
            problems.append(f"the ERROR line names none of {', '.join(choices)}:{message[:400]}")
    pattern = answer.says(params)
    if pattern and not re.search(pattern, message, re.IGNORECASE):
        problems.append(f"the ERROR line does not say /{pattern}/:{message[:400]}")
    if CANARY in message:
        problems.append("the ERROR line quotes customer data from a JSON body")
    return problems


def names_endpoint(message: str, found: Found) -> bool:
    """Whether `message` names the endpoint: `METHOD /path` with a path of the endpoint (or
    its declared form, `{workflowId}` and all). A file on a host the vendor hands out is
    named by the request that handed it out, never by its link (a credential while it lasts):
    any endpoint of the tap with a `url_setting`."""
    endpoint = found.endpoint
    method = endpoint.method
    said = re.findall(rf"\b{method} (/\S*)", message)
    if endpoint.url_setting is None:
        return any(path.startswith("/") for path in said) or "file" in message
    for path in said:
        path = path.rstrip(".,;:)'\"")
        if path == endpoint.path or endpoint.pattern("").fullmatch(path):
            return True
        if any(endpoint.pattern(prefix).fullmatch(path) for prefix in _prefixes(path)):
            return True
    return False


def _prefixes(path: str) -> list[str]:
    """The base paths a full request path may sit under (`/api/public`, `/api/v1`)."""
    parts = path.split("/")
    return ["http://x" + "/".join(parts[:n]) for n in range(1, min(len(parts), 4))]


def _params(params: dict[str, t.Any]) -> str:
    return ", ".join(f"{k}={v!r}"[:60] for k, v in params.items() if k not in ("vendor_refusal",))


# ---- 2. rows ---------------------------------------------------------------------------------


def _key(record: dict, columns: list[str]) -> tuple:
    return tuple(
        json.dumps(record.get(c), sort_keys=True)
        if isinstance(record.get(c), (dict, list))
        else record.get(c)
        for c in columns
    )


def _rows(
    run: t.Any,
    answer: AnswerClass,
    found: Found,
    ref: Reference,
    notes: dict[str, t.Any],
    problems: list[str],
) -> dict[str, set[tuple]]:
    """Rows landed against rows served; returns the keys a WARNING accounts for as left out."""
    allowed: dict[str, set[tuple]] = {}
    failed = run.returncode != 0
    warnings = [line for line in run.stderr.splitlines() if "| WARNING" in line]
    for stream in found.streams:
        columns = ref.key_properties.get(stream)
        if columns is None:
            continue
        emitted = run.records(stream)
        landed = Counter(_key(r, columns) for r in emitted)
        served = ref.keys(stream) if answer.served == "clean" else set()
        extra = set(landed) - served
        missing = served - set(landed)
        own = [c for c in columns if c != "_account_id"]  # the key the tap makes itself
        if answer.name == "duplicates" and len(own) == 1 and own[0].startswith("_"):
            # A key the tap makes from the whole row (`_row_hash`): identical rows are rows.
            if notes.get("duplicated") and not failed:
                doubled = len(served) * 2
                if "every row twice" in str(notes) and len(landed) < doubled:
                    problems.append(
                        f"{stream}: every row was served twice but {len(landed)} rows landed, "
                        f"not {doubled} (identical rows keyed by a row hash collapse)"
                    )
            extra = set()
        # The spoilt rows are the endpoint's own: a child stream's rows (Dixa's notes of a
        # conversation served twice) come from requests of their own and never hold them.
        spoilt_here = stream in found.users
        if answer.name == "respelled_key" and spoilt_here:
            extra = _respelled(stream, emitted, columns, served, notes, failed, problems)
        if answer.name == "newer_first" and not failed and spoilt_here:
            _newer_kept(stream, emitted, columns, notes, problems)
        if answer.alters_values and (extra or missing) and len(emitted) == len(ref.records[stream]):
            # As many rows as were served, some under keys made of the values spoilt.
            allowed[stream] = missing
            extra, missing = set(), set()
        if extra:
            problems.append(
                f"{stream}: {len(extra)} rows landed that the run was never served, "
                f"e.g. {sorted(extra, key=str)[:2]}"
            )
        if failed or not missing:
            continue
        counted = [line for line in warnings if re.search(rf"\b{len(missing)}\b", line)]
        if answer.name == "odd_dates" and counted:
            allowed[stream] = missing
            continue
        problems.append(
            f"{stream}: {len(missing)} of {len(served)} rows served never landed, and no warning "
            f"counts them (exit 0), e.g. {sorted(missing, key=str)[:2]}"
        )
    return allowed


def _respelled(
    stream: str,
    emitted: list[dict],
    columns: list[str],
    served: set[tuple],
    notes: dict[str, t.Any],
    failed: bool,
    problems: list[str],
) -> set[tuple]:
    """The row whose key was spelt otherwise is a row of its own: its key is not another's."""
    markers = notes.get("respelled") or []
    extra = set()
    for record in emitted:
        text = json.dumps(record)
        key = _key(record, columns)
        if any(marker in text for marker in markers):
            if key in served:
                problems.append(
                    f"{stream}: a second row whose key was spelt otherwise landed under the key "
                    f"of another row, {key}: a target keeps only one of them"
                )
        elif key not in served:
            extra.add(key)
    landed_markers = [m for m in markers if any(m in json.dumps(r) for r in emitted)]
    if not failed and markers and not landed_markers and emitted:
        problems.append(f"{stream}: the row whose key was spelt otherwise never landed")
    return extra


def _newer_kept(
    stream: str,
    emitted: list[dict],
    columns: list[str],
    notes: dict[str, t.Any],
    problems: list[str],
) -> None:
    """Of two versions of a row under one key, the newer (served first) is the one kept."""
    for marker in notes.get("newer") or []:
        keys = {_key(r, columns) for r in emitted if marker in json.dumps(r)}
        if not keys and emitted:
            problems.append(f"{stream}: the newer version of a row never landed")
        for key in keys:
            last = [r for r in emitted if _key(r, columns) == key][-1]
            if marker not in json.dumps(last):
                problems.append(
                    f"{stream}: a row served twice, the newer version first: the older one was "
                    f"emitted last, so a target keeps it ({key})"
                )


# ---- 3. state --------------------------------------------------------------------------------


def _moment(value: t.Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_utc(value)
    except (ValueError, TypeError, OverflowError):
        return None


def _state(
    run: t.Any,
    answer: AnswerClass,
    found: Found,
    ref: Reference,
    allowed: dict[str, set[tuple]],
    config: dict,
) -> list[str]:
    """Every STATE: no bookmark past a served row not emitted before it, nor past the run's end."""
    problems: list[str] = []
    end = _moment(config.get("end_date")) or dt.datetime.now(dt.timezone.utc)
    emitted: dict[str, set[tuple]] = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            stream = message["stream"]
            columns = ref.key_properties.get(stream, [])
            emitted.setdefault(stream, set()).add(_key(message["record"], columns))
            continue
        if message["type"] != "STATE":
            continue
        for stream, entry in (message["value"].get("bookmarks") or {}).items():
            if stream not in found.streams:
                continue
            for part in [entry, *entry.get("partitions", [])]:
                bookmark = _moment(part.get("replication_key_value"))
                key_name = part.get("replication_key")
                if bookmark is None or not key_name:
                    continue
                if bookmark > end + dt.timedelta(minutes=5):
                    problems.append(f"{stream}: a bookmark past the run's end ({bookmark})")
                if answer.served != "clean":
                    continue
                context = part.get("context") or {}
                columns = ref.key_properties.get(stream, [])
                late = [
                    r
                    for r in ref.records.get(stream, [])
                    if all(r.get(k) == v for k, v in context.items())
                    and (_moment(r.get(key_name)) or bookmark) < bookmark
                    and _key(r, columns) not in emitted.get(stream, set())
                    and _key(r, columns) not in allowed.get(stream, set())
                ]
                if late:
                    problems.append(
                        f"{stream}{context or ''}: a STATE bookmarks {bookmark.isoformat()} before "
                        f"{len(late)} of its rows were emitted"
                    )
    return sorted(set(problems))


# ---- 4. secrets ------------------------------------------------------------------------------


def secret_forms(secrets: dict[str, str]) -> dict[str, str]:
    """Each secret in every derived form, and its first and last `FRAGMENT` characters (what a
    text cut through the secret would show) -> what it is (never the value)."""
    forms: dict[str, str] = {}
    for name, secret in secrets.items():
        for form in encodings(secret):
            forms[form] = f"{name} (encoded)" if form != secret else f"{name} (as is)"
        encoded = base64.b64encode(secret.encode()).decode()
        for form in (f"Bearer {secret}", f"Basic {encoded}"):
            forms[form] = f"{name} (header)"
        if len(secret) > FRAGMENT + 2:
            forms.setdefault(secret[:FRAGMENT], f"{name} (its start, cut)")
            forms.setdefault(secret[-FRAGMENT:], f"{name} (its end, cut)")
    return {form: what for form, what in forms.items() if len(form) >= 6}


def _secrets(cell: CellRun) -> list[str]:
    assert cell.run is not None
    forms = secret_forms(cell.secrets)
    places = {
        "stdout": cell.run.stdout,
        "stderr": cell.run.stderr,
        "the log files": cell.log,
        **{f"a request to {host}": "\n".join(texts) for host, texts in cell.other_hosts.items()},
    }
    found = [
        f"{what} in {where}"
        for where, text in places.items()
        for form, what in forms.items()
        if form in text
    ]
    return [f"a secret leaked: {item}" for item in sorted(set(found))]
