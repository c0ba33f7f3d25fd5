"""Keep secrets out of log lines, error text and anything else we print.

Secrets reach text in more ways than one would like: a bot key in a URL path
(Xenioo), a company key in a query string (Khoros), a server echoing a header
back in an error page, `requests` quoting the URL in a connection error. Rather
than trust every call site, each tap registers its secret setting values here
and every message we build, and every log record, passes through `redact`.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values are too likely to occur by accident (e.g. "1", "*").
_MIN_SECRET_LENGTH = 4


class SecretRedactor:
    """Replace known secret values (and their URL-encoded forms) in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: object) -> None:
        with self._lock:
            for value in values:
                if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
                    continue
                self._secrets.update({value, quote(value, safe=""), quote_plus(value)})

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()

    def __call__(self, text: str) -> str:
        if not self._secrets or not text:
            return text
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text


#: The process-wide redactor every tap registers its secrets with.
redact = SecretRedactor()


class RedactingFilter(logging.Filter):
    """Logging filter that renders each record's message and masks secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call is not ours to crash on
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            # The traceback is now pre-rendered and masked; stop handlers re-rendering it.
            record.exc_info = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to every handler of the root logger (idempotent).

    Filters on handlers (not loggers) see records from all child loggers, which is
    where the SDK, requests and urllib3 log.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
