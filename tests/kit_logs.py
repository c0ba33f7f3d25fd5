"""A logger's output, captured for a test (the handler added and removed around it)."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def captured_log(
    name: str,
    *,
    formatter: logging.Formatter | None = None,
    log_filter: logging.Filter | None = None,
    level: int | None = None,
) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """Logger `name` and what its new handler (`formatter`, `log_filter`) writes; `level`, if
    given, is the logger's level for the duration."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if formatter is not None:
        handler.setFormatter(formatter)
    if log_filter is not None:
        handler.addFilter(log_filter)
    logger = logging.getLogger(name)
    old_level = logger.level
    if level is not None:
        logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
