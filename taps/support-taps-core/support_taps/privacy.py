"""Personal data kept out of every message: named fields hashed or dropped wherever they appear.

The SDK's stream maps can hash a column, but not what the same value becomes elsewhere in the
record: `raw` (and Khoros's `fields`) keep every source object whole, so the plain email would
still reach the warehouse. `pii_hash_fields` and `pii_drop_fields` name fields (exact names,
any case, or `*` patterns such as `*email*`); every record is walked before any message is
written, and a field so named is hashed or dropped at every depth: a column, a member of a
nested object or of `raw`, a Khoros `fields` entry, and Dixa's `{"name": ..., "field": {...}}`
pairs (by their `name`).

A hash is HMAC-SHA256 of the value's text with the secret `pii_salt`, in hex: the same value
gives the same hash in every run and every stream (so hashed emails still join), and nobody
without the salt can confirm a guess by hashing it. Numbers and booleans hash as their JSON
text, lists item by item, objects member by member; null and empty text stay as they are.

Key and replication-key columns cannot be named (hashing or dropping them would merge or lose
rows): the tap refuses to start, naming them. A typed column that is hashed becomes text in the
SCHEMA message (and the discovered catalog); a dropped column leaves it.
"""

from __future__ import annotations

import fnmatch
import hmac
import json
import re
import typing as t
from collections.abc import Iterable, Mapping

HASH_SETTING, DROP_SETTING, SALT_SETTING = "pii_hash_fields", "pii_drop_fields", "pii_salt"
#: The shortest salt accepted: a short one could be found by trying, and with it every hash.
MIN_SALT_LENGTH = 16

_HASH, _DROP = "hash", "drop"
#: Members of a Dixa field object that say what it is, not what it holds: kept as sent.
_FIELD_TAGS = frozenset({"_type", "name"})


class FieldRules:
    """Which field names are hashed and which dropped (drop wins when both match)."""

    def __init__(self, hashed: Iterable[str] = (), dropped: Iterable[str] = ()) -> None:
        self.hashed, self.dropped = tuple(hashed), tuple(dropped)
        self._hash_match = _matcher(self.hashed)
        self._drop_match = _matcher(self.dropped)
        self._actions: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return bool(self.hashed or self.dropped)

    def action(self, name: str) -> str | None:
        """ "hash", "drop" or None for a field called `name` (cached: names repeat)."""
        try:
            return self._actions[name]
        except KeyError:
            pass
        action = _DROP if self._drop_match(name) else _HASH if self._hash_match(name) else None
        if len(self._actions) > 100_000:  # names are keys of vendor objects: bounded in practice
            self._actions.clear()
        self._actions[name] = action
        return action

    def setting_for(self, name: str) -> str | None:
        """The setting that names field `name`, if one does."""
        action = self.action(name)
        return DROP_SETTING if action == _DROP else HASH_SETTING if action == _HASH else None


def _matcher(patterns: Iterable[str]) -> t.Callable[[str], bool]:
    """Case-insensitive match of a name against exact names and `*`/`?` patterns."""
    exact = {p.lower() for p in patterns if not any(c in p for c in "*?[")}
    globs = [fnmatch.translate(p) for p in patterns if any(c in p for c in "*?[")]
    regex = re.compile("|".join(globs), re.IGNORECASE) if globs else None

    def match(name: str) -> bool:
        return name.lower() in exact or (regex is not None and regex.match(name) is not None)

    return match


class RecordPrivacy:
    """Hashes and drops the named fields of a record in place (see the module's docstring)."""

    def __init__(self, rules: FieldRules, salt: str) -> None:
        self.rules = rules
        self._hmac_key = salt.encode()

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> RecordPrivacy | None:
        """The settings' rules, or None when no field is named (the record path then costs
        nothing)."""
        rules = FieldRules(config.get(HASH_SETTING) or (), config.get(DROP_SETTING) or ())
        if not rules:
            return None
        return cls(rules, str(config.get(SALT_SETTING) or ""))

    def __call__(self, record: dict) -> dict:
        """A cleaned copy of `record`. Never in place: a source object may be shared by the
        records of several streams (Thankful's `/tickets` answer feeds four)."""
        cleaned = self._object(record)
        return cleaned if cleaned is not _DROPPED else {}

    # ---- hashing ------------------------------------------------------------------------

    def hash_text(self, text: str) -> str:
        """HMAC-SHA256 of `text` with the salt, in hex."""
        return hmac.digest(self._hmac_key, text.encode("utf-8", "surrogatepass"), "sha256").hex()

    def hashed(self, value: t.Any) -> t.Any:
        """`value` with every scalar in it hashed; its shape (list, object), nulls and empty
        texts kept (they say "no value", nothing personal)."""
        if value is None or value == "":
            return value
        if value.__class__ is str:
            return self.hash_text(value)
        if isinstance(value, list):
            return [self.hashed(item) for item in value]
        if isinstance(value, dict):  # a dropped name goes from inside a hashed object too
            action = self.rules.action
            return {
                key: self.hashed(item)
                for key, item in value.items()
                if key.__class__ is not str or action(key) != _DROP
            }
        return self.hash_text(json.dumps(value))  # numbers and booleans as their JSON text

    # ---- the walk ----------------------------------------------------------------------

    def _clean(self, value: t.Any) -> t.Any:
        if value.__class__ is dict:
            return self._object(value)
        if value.__class__ is list:
            return [item for item in map(self._clean, value) if item is not _DROPPED]
        return value

    def _object(self, obj: dict) -> t.Any:
        """A cleaned copy of `obj`, or _DROPPED when `obj` is a named pair to drop."""
        action = self.rules.action
        out = {}
        for key, value in obj.items():
            what = action(key) if key.__class__ is str else None
            if what is None:
                if value.__class__ is dict or value.__class__ is list:
                    value = self._clean(value)
                    if value is _DROPPED:
                        continue
                out[key] = value
            elif what == _HASH:
                out[key] = self.hashed(value)
        # Dixa's fields: {"name": "requester_email", "field": {"_type": ..., "value": ...}}.
        name = obj.get("name")
        if name.__class__ is str and "field" in obj:
            what = action(name)
            if what == _DROP:
                return _DROPPED
            if what == _HASH:
                field = obj["field"]
                out["field"] = (
                    {k: v if k in _FIELD_TAGS else self.hashed(v) for k, v in field.items()}
                    if isinstance(field, dict)
                    else self.hashed(field)
                )
        return out


_DROPPED = object()


# ---- what the settings change elsewhere --------------------------------------------------


def output_schema(schema: dict, rules: FieldRules) -> dict:
    """`schema` as the records leave the tap: hashed fields text, dropped fields gone, at
    every depth (a new dictionary where anything changed; `schema` is never modified)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        items = schema.get("items")
        if isinstance(items, dict):
            new_items = output_schema(items, rules)
            return schema if new_items is items else {**schema, "items": new_items}
        return schema
    changed = False
    kept: dict[str, t.Any] = {}
    for name, spec in properties.items():
        what = rules.action(name)
        if what == _DROP:
            changed = True
            continue
        new = _hashed_spec(spec) if what == _HASH else output_schema(spec, rules)
        changed = changed or new is not spec
        kept[name] = new
    if not changed:
        return schema
    out = {**schema, "properties": kept}
    if isinstance(schema.get("required"), list):
        out["required"] = [name for name in schema["required"] if name in kept]
    return out


def _hashed_spec(spec: t.Any) -> t.Any:
    """The schema of a hashed value: its scalars become text; objects and lists keep their
    shape (their members and items are hashed one by one)."""
    if not isinstance(spec, dict):
        return spec
    if isinstance(spec.get("properties"), dict):
        return {**spec, "properties": {k: _hashed_spec(v) for k, v in spec["properties"].items()}}
    if isinstance(spec.get("items"), dict):
        return {**spec, "items": _hashed_spec(spec["items"])}
    if "anyOf" in spec or "oneOf" in spec:
        return {}  # any value: the alternatives' shapes are kept, their scalars become text
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if "object" in types or "array" in types:
        return spec  # members or items of any type, hashed one by one
    if set(types) <= {"string", "null"} and "format" not in spec:
        return spec
    return {"type": ["string", "null"]}


def key_errors(
    stream: str, key_properties: Iterable[str], replication_key: str | None, rules: FieldRules
) -> list[str]:
    """One line per key or replication-key column of `stream` a privacy setting names."""
    errors = []
    for name, role in (
        *((k, "a primary key column") for k in key_properties),
        *(((replication_key, "the replication key"),) if replication_key else ()),
    ):
        setting = rules.setting_for(name)
        if setting:
            errors.append(
                f"The setting `{setting}` names `{name}`, {role} of stream `{stream}`: hashing "
                "or dropping it would merge or lose rows. Name the other fields only."
            )
    return errors


def privacy_setting_errors(config: Mapping[str, t.Any]) -> list[str]:
    """The salt a hash needs, and patterns that can name something."""
    errors = []
    for setting in (HASH_SETTING, DROP_SETTING):
        blank = [p for p in config.get(setting) or () if not str(p).strip()]
        if blank:
            errors.append(f"The setting `{setting}` has an empty field name; remove it.")
    if config.get(HASH_SETTING):
        salt = str(config.get(SALT_SETTING) or "")
        if len(salt) < MIN_SALT_LENGTH:
            errors.append(
                f"The setting `{HASH_SETTING}` needs `{SALT_SETTING}`, a secret of at least "
                f"{MIN_SALT_LENGTH} characters (without it a hash of a guessed email could be "
                "checked against the warehouse)."
            )
    return errors


__all__ = [
    "DROP_SETTING",
    "HASH_SETTING",
    "SALT_SETTING",
    "FieldRules",
    "RecordPrivacy",
    "key_errors",
    "output_schema",
    "privacy_setting_errors",
]
