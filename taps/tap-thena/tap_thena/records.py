"""From an export answer to records: its shape, the request key, typed columns and `raw`.

Thena's API is in beta ("signatures can change"), so what it sends is read
defensively, but never silently: a body that is not a list of request objects, or a
request whose key cannot be read, is an error naming the endpoint and what was
found; a value a typed column cannot read is null there with a warning; the whole
source object always lands in `raw`.
"""

from __future__ import annotations

import logging
import re

import requests

from support_taps.errors import (
    UnparseableResponse,
    describe_shape,
    response_place,
    unexpected_shape,
)
from support_taps.normalize import RecordNormalizer

#: Placeholders Thena documents for "no value": "" and "N/A" (requests export example);
#: "NA" (csat_score in its requests API example). Nulled only in typed columns.
THENA_PLACEHOLDERS = frozenset({"", "N/A", "NA"})

#: Besides ISO (also "2024-01-09 22:27:40", as the requests API shows), the export's
#: documented "MM/DD/YYYY HH:MM" and its near relatives.
DATE_FORMATS = (
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
)

KEY = "request_id"
RAW = "raw"
#: A prefixed id such as "REQ-123": the number is the key.
_PREFIXED = re.compile(r"^([A-Za-z][A-Za-z_]*)[-_#: ]?(\d+)$")
#: Where an id may sit when Thena sends the key as an object.
_ID_MEMBERS = ("id", "request_id", "value")


class RequestKeyError(Exception):
    """The request key cannot be read: `found` is the value (its shape goes in the error), or
    the message says why (two prefixes)."""

    def __init__(self, message: str, found: object = None) -> None:
        super().__init__(message)
        self.found = found


def _shape(value: object) -> str:
    return describe_shape(value, text_pattern=True)


class RequestKeyReader:
    """`request_id` as the integer the schema keys on, from what Thena sends.

    Documented: a number (3292). Coerced: a numeric string ("3292"), a prefixed id
    ("REQ-3292", the number, as long as one prefix is used, so two ids never share a
    key), an object carrying the id (`{"id": 3292}`). Anything else cannot be a key.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.prefix: str | None = None
        self._noted: set[str] = set()

    def __call__(self, value: object) -> int:
        return self._read(value, depth=0)

    def _note(self, kind: str, message: str, *args: object) -> None:
        if kind not in self._noted:
            self._noted.add(kind)
            self.logger.warning(message, *args)

    def _read(self, value: object, depth: int) -> int:
        if value.__class__ is int:
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            if text.isdigit():
                self._note(
                    "text",
                    "Thena sent request_id as text (%s); it is read as a number.",
                    _shape(value),
                )
                return int(text)
            match = _PREFIXED.match(text)
            if match:
                prefix = match.group(1).upper()
                if self.prefix is None:
                    self.prefix = prefix
                    self._note(
                        "prefix",
                        "Thena sent request_id with a prefix (%s); its number is the key "
                        "and the id as sent stays in `raw`.",
                        _shape(value),
                    )
                elif prefix != self.prefix:
                    msg = (
                        f"request ids with two different prefixes ({_shape(self.prefix)} and "
                        f"{_shape(prefix)}), whose numbers could collide as keys"
                    )
                    raise RequestKeyError(msg)
                return int(match.group(2))
        if isinstance(value, dict) and depth == 0:
            for member in _ID_MEMBERS:
                if member in value:
                    self._note(
                        "object",
                        "Thena sent request_id as an object; its `%s` is the key and the "
                        "object as sent stays in `raw`.",
                        member,
                    )
                    return self._read(value[member], depth=1)
        raise RequestKeyError("unreadable", found=value)


class ExportParser:
    """Turns one export answer into records for the `requests` schema."""

    def __init__(self, schema: dict, logger: logging.Logger) -> None:
        self.logger = logger
        typed = {
            name: spec for name, spec in schema["properties"].items() if name not in (KEY, RAW)
        }
        self.normalize = RecordNormalizer(
            {"properties": typed},
            date_formats=DATE_FORMATS,
            placeholders=THENA_PLACEHOLDERS,
            list_separator=",",
            on_unknown=self._unknown_field,
            on_unreadable=self._unreadable_value,
        )
        self.read_key = RequestKeyReader(logger)
        self.columns = tuple(typed)

    def _unknown_field(self, name: str) -> None:
        self.logger.warning(
            "Thena sent a field the schema does not know, %r; it is kept in `raw`. "
            "(The export is in beta and may add fields.)",
            name,
        )

    def _unreadable_value(self, name: str, value: object) -> None:
        self.logger.warning(
            "Thena sent %s in `%s`, which the tap cannot read as that column's type; the column is "
            "null for such values and the value as sent is kept in `raw`.",
            _shape(value),
            name,
        )

    def records(self, payload: object, response: requests.Response, note: str) -> list[dict]:
        """The records of one answer, or an error naming the endpoint if it is not what Thena
        documents.

        The whole answer is checked before any record is returned, so a bad answer
        emits nothing of its window. `note` (the window, not bookmarked) ends each error.
        """
        if not isinstance(payload, list):
            raise unexpected_shape(
                "Thena",
                response,
                "a JSON list",
                payload,
                f"The export answers a list of request objects. {note}",
            )
        records: list[dict] = []
        append, normalize, columns = records.append, self.normalize, len(self.columns)
        for index, source in enumerate(payload):
            if not isinstance(source, dict):
                raise unexpected_shape(
                    "Thena",
                    response_place(response, f", item {index}"),
                    "a request object",
                    source,
                    note,
                )
            key = source.get(KEY)
            try:
                if key.__class__ is not int:
                    key = self.read_key(key)
            except RequestKeyError as exc:
                place = response_place(response, f", item {index}")
                if KEY not in source:
                    raise unexpected_shape(
                        "Thena", place, "a request object with request_id", source, note
                    ) from None
                if str(exc) == "unreadable":
                    raise unexpected_shape(
                        "Thena",
                        f"{place}, `request_id`",
                        "request_id as a number (3292), a numeric "
                        "string or a prefixed id ('REQ-3292')",
                        exc.found,
                        note,
                        text_pattern=True,
                    ) from None
                raise UnparseableResponse(f"Thena {place}: {exc}. {note}") from None
            record = dict(source)
            del record[KEY]
            record = normalize(record)
            if len(record) < columns:  # a field Thena left out is a null column
                for name in self.columns:
                    record.setdefault(name, None)
            record[KEY] = key
            record[RAW] = source
            append(record)
        return records
