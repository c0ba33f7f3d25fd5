"""`pii_hash_fields`/`pii_drop_fields` through every tap's CLI against its simulator: no plain
value of a named field anywhere in stdout (columns, `raw`, Khoros `fields`, Dixa's name/field
pairs), the hash of each value exactly HMAC-SHA256 with the salt (so the same in every run),
no dropped name anywhere, hashed typed columns declared as text."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json

import pytest
from kit_faults import FAST_RETRIES, PROFILES
from tap_runner import run_tap

SALT = "warehouse-test-salt-3e9b1c77"

#: Per tap: fields to hash and to drop (emails and message text where the vendor has them).
FIELDS: dict[str, tuple[list[str], list[str]]] = {
    "tap-thena": (["*email*", "request_summary"], ["customer_name"]),
    "tap-thankful": (["cause"], ["impact"]),
    "tap-dixa": (["*email*", "text", "rating_comment"], ["*phone*"]),
    "tap-xenioo": (["BotId"], ["Status"]),
    # `name`: the teams list's, which TEAM_NAME of the reports repeats.
    "tap-khoros-care": (["CONTENT", "*_NAME", "name"], ["AUTHOR_LOCATION"]),
}


def matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name.lower(), pattern.lower()) for pattern in patterns)


def hashed(value, salt: str = SALT):
    """What a named value must become: computed here, independently of support_taps."""
    if value is None or value == "":
        return value
    if isinstance(value, list):
        return [hashed(item, salt) for item in value]
    if isinstance(value, dict):
        return {key: hashed(item, salt) for key, item in value.items()}
    text = value if isinstance(value, str) else json.dumps(value)
    return hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def named_values(node, hash_patterns):
    """(path, plain value) of every value a hash pattern names, at any depth, pairs included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if matches(key, hash_patterns):
                yield (key,), value
            else:
                for path, found in named_values(value, hash_patterns):
                    yield (key, *path), found
        name = node.get("name")
        if isinstance(name, str) and isinstance(node.get("field"), dict):
            if matches(name, hash_patterns):
                for key, value in node["field"].items():
                    if key not in ("_type", "name"):
                        yield ("field", key), value
    elif isinstance(node, list):
        for index, item in enumerate(node):
            for path, found in named_values(item, hash_patterns):
                yield (index, *path), found


def names(node):
    """Every object key and every Dixa pair name, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from names(value)
        if isinstance(node.get("name"), str) and "field" in node:
            yield node["name"]
    elif isinstance(node, list):
        for item in node:
            yield from names(item)


def at(node, path):
    for step in path:
        node = node[step]
    return node


def texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)


def run(tap: str, config: dict):
    profile = PROFILES[tap]
    with profile.make_simulator() as sim:
        done = run_tap(profile.module, {**profile.make_config(sim), **FAST_RETRIES, **config})
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def by_key(done):
    """Each stream's records by primary key."""
    out: dict[str, dict[tuple, dict]] = {}
    for stream, message in done.schemas().items():
        keys = message["key_properties"]
        out[stream] = {tuple(json.dumps(r.get(k)) for k in keys): r for r in done.records(stream)}
    return out


@pytest.mark.parametrize("tap", sorted(FIELDS))
def test_named_fields_are_hashed_or_dropped_everywhere_in_stdout(tap):
    hash_patterns, drop_patterns = FIELDS[tap]
    settings = {"pii_hash_fields": hash_patterns, "pii_drop_fields": drop_patterns}
    plain = run(tap, {})
    private = run(tap, {**settings, "pii_salt": SALT})
    again = run(tap, {**settings, "pii_salt": SALT})

    plain_records, private_records = by_key(plain), by_key(private)
    checked, secrets = 0, set()
    for stream, records in plain_records.items():
        for key, record in records.items():
            if key not in private_records.get(stream, {}):
                continue  # a row of a moment the second run no longer serves (today's data)
            twin = private_records[stream][key]
            for path, value in named_values(record, hash_patterns):
                if any(matches(str(step), drop_patterns) for step in path):
                    continue
                assert at(twin, path) == hashed(value), (stream, path)
                secrets.update(text for text in texts(value) if len(text) >= 4)
                checked += 1
    assert checked, f"{tap}: the simulator served no value the patterns name"
    leaked = [secret for secret in secrets if secret in private.stdout]
    assert not leaked, f"{tap}: {len(leaked)} plain values in stdout, e.g. {leaked[0][:3]}..."

    dropped = {n for n in names([m for m in plain.messages]) if matches(n, drop_patterns)}
    assert dropped, f"{tap}: the simulator served no field the drop patterns name"
    assert not {n for n in names(private.messages) if matches(n, drop_patterns)}

    # The same values, the same hashes, in the next run too.
    again_records = by_key(again)
    for stream, records in private_records.items():
        for key, record in records.items():
            twin = again_records.get(stream, {}).get(key)
            if twin is None:
                continue
            for path, value in named_values(record, hash_patterns):
                assert at(twin, path) == value, (stream, path)


def test_a_hashed_typed_column_is_text_in_the_schema_message():
    done = run("tap-thena", {"pii_hash_fields": ["number_of_replies"], "pii_salt": SALT})
    schema = done.schemas()["requests"]["schema"]["properties"]
    assert schema["number_of_replies"] == {"type": ["string", "null"]}
    assert all(isinstance(r["number_of_replies"], str) for r in done.records("requests"))


def test_a_key_column_named_stops_the_run_before_any_request():
    profile = PROFILES["tap-thena"]
    with profile.make_simulator() as sim:
        done = run_tap(
            profile.module,
            {**profile.make_config(sim), "pii_drop_fields": ["request_id"], "pii_salt": SALT},
        )
        assert sim.calls() == []
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.endswith(
        "The setting `pii_drop_fields` names `request_id`, a primary key column of stream "
        "`requests`: hashing or dropping it would merge or lose rows. "
        "Name the other fields only."
    )
