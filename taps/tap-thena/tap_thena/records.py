"""From an export answer to records: its shape, the request key, typed columns and `raw`.

Thena's API is in beta ("signatures can change"), so what it sends is read
defensively, but never silently: a body that is not a list of request objects, or a
request whose key is not the number Thena documents, is an error naming the endpoint and what was
found; a value a typed column cannot read is null there with a warning; the whole
source object always lands in `raw`.
"""

from __future__ import annotations

import logging

import requests

from support_taps.errors import describe_shape, response_place, unexpected_shape
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


def _shape(value: object) -> str:
    return describe_shape(value, text_pattern=True)


def request_key(value: object) -> int | None:
    """`request_id` as the integer Thena documents ("Request ID: Number"), or None.

    Text ("3292", "REQ-3292") or an object carrying an id is not read as its number: 1, "1"
    and "REQ-1" would then share one key, and an upserting target keep one of the three.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


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
            key = request_key(source.get(KEY))
            if key is None:
                place = response_place(response, f", item {index}")
                if KEY not in source:
                    raise unexpected_shape(
                        "Thena", place, "a request object with request_id", source, note
                    )
                raise unexpected_shape(
                    "Thena",
                    f"{place}, `request_id`",
                    "request_id as a number (3292), as Thena documents it; text or an object "
                    "is refused, not read as a number, as two requests would share a key",
                    source[KEY],
                    note,
                    text_pattern=True,
                )
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
