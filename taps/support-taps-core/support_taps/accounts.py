"""The account every record comes from: `_account_id`, in every stream's schema and key.

Teams that load several accounts of one vendor (an agency's clients, a group's Dixa
organisations) load them into the same tables. Without a column naming the account,
conversation 123 of one organisation would upsert onto conversation 123 of another. So
every tap takes an `account_id` setting, and the core puts it on every record as
`_account_id`, first in every stream's primary key: streams declare nothing for it.

The value is the `account_id` setting, else the vendor's own account identifier where a
setting names one without revealing a secret (Thena's `workspace`), else `default`. State
needs no partition for it: each account is a pipeline of its own, with its own state.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from singer_sdk.singerlib import Catalog, Metadata, Schema, StreamMetadata

from support_taps.compat import set_stream_schema

if t.TYPE_CHECKING:
    from singer_sdk import Stream

#: The column naming each record's account (leading underscore: ours, not the vendor's).
ACCOUNT_KEY = "_account_id"
#: The account of a tap whose vendor names none and whose `account_id` is not set.
DEFAULT_ACCOUNT = "default"


def account_setting(default_is: str = f"`{DEFAULT_ACCOUNT}`") -> th.PropertiesList:
    """The `account_id` setting; `default_is` says what it defaults to in this tap."""
    return th.PropertiesList(
        th.Property(
            "account_id",
            th.StringType(min_length=1),
            description=(
                f"Names the account every record comes from: written on every record as "
                f"`{ACCOUNT_KEY}`, first in every stream's primary key, so several accounts of "
                f"the vendor load into the same tables without mixing. Default: {default_is}. "
                "Set your own for each account when you load several."
            ),
        ),
    )


def account_setting_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """An account name with spaces around it would key rows apart from the same name without."""
    value = config.get("account_id")
    if isinstance(value, str) and value and value != value.strip():
        return ["The setting `account_id` has spaces or a line break around it: remove them."]
    return []


def with_account_key(keys: t.Sequence[str] | None) -> tuple[str, ...]:
    """`keys` with `_account_id` first."""
    return (ACCOUNT_KEY, *(key for key in keys or () if key != ACCOUNT_KEY))


def with_account_property(schema: dict) -> dict:
    """`schema` with `_account_id` as its first property (a copy; the same dict if it has one)."""
    properties = schema.get("properties", {})
    if ACCOUNT_KEY in properties:
        return schema
    return {**schema, "properties": {ACCOUNT_KEY: {"type": ["string"]}, **properties}}


def add_account(stream: Stream) -> None:
    """Make `stream` publish `_account_id`: first in its key, first among its properties.

    Run by the tap once its streams exist (`SupportTap.streams`), after each stream's own
    `__init__` set its keys, so a stream declares nothing for it.
    """
    stream.primary_keys = with_account_key(stream.primary_keys)
    set_stream_schema(stream, with_account_property(stream.schema))


def add_account_to_catalog(catalog: Catalog) -> None:
    """A catalog given to the tap (Meltano's, or one kept by hand from an earlier release):
    `_account_id` in each stream's schema, key and metadata, so the SCHEMA messages and stream
    maps built from it agree with the records. Idempotent."""
    for entry in catalog.values():
        if entry.schema.properties is not None and ACCOUNT_KEY not in entry.schema.properties:
            entry.schema.properties = {
                ACCOUNT_KEY: Schema(type=["string"]),
                **entry.schema.properties,
            }
        keys = with_account_key(entry.key_properties)
        entry.key_properties = list(keys)
        root = entry.metadata.get(())
        if isinstance(root, StreamMetadata) and root.table_key_properties is not None:
            root.table_key_properties = list(with_account_key(root.table_key_properties))
        entry.metadata[("properties", ACCOUNT_KEY)] = Metadata(
            inclusion=Metadata.InclusionType.AUTOMATIC
        )
