"""target-duckdb, keeping every row.

target-duckdb 0.8.0 writes each batch to a headerless CSV file and loads it with
`COPY <table> FROM '<file>' WITH (new_line '\\r\\n')`, without `HEADER false`. DuckDB's
CSV sniffer then decides on its own whether the first line is a header, and when it
guesses "yes" that row is silently dropped: measured with all-text tables on DuckDB
1.2.2, and with any table on 1.4 and later. This wrapper runs the unmodified loader
with a connection that adds `HEADER false` to that one statement.
"""

from __future__ import annotations

import re

import target_duckdb

_COPY_OPTIONS = re.compile(
    r"^(COPY\s+\S+\s+FROM\s+'[^']*'\s+WITH\s*\()(.*)\)\s*$", re.IGNORECASE | re.DOTALL
)


def headerless_copy(sql: str) -> str:
    """`COPY ... WITH (opts)` -> `COPY ... WITH (opts, header false)`; other SQL unchanged."""
    match = _COPY_OPTIONS.match(sql.strip())
    if not match or re.search(r"\bheader\b", match.group(2), re.IGNORECASE):
        return sql
    return f"{match.group(1)}{match.group(2)}, header false)"


class ExactConnection:
    """A DuckDB connection whose CSV COPY statements never guess a header row."""

    def __init__(self, connection) -> None:  # type: ignore[no-untyped-def]
        self._connection = connection

    def execute(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._connection.execute(
            headerless_copy(sql) if isinstance(sql, str) else sql, *args, **kwargs
        )

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._connection, name)


def main() -> None:
    connect = target_duckdb.duckdb_connect
    target_duckdb.duckdb_connect = lambda config: ExactConnection(connect(config))
    target_duckdb.main()
