"""Keep secrets out of log lines, error text and anything else we print.

Secrets reach text in more ways than one would like: a bot key in a URL path
(Xenioo), a company key in a query string (Khoros), a server echoing a header
back in an error page, `requests` quoting the URL in a connection error. Rather
than trust every call site, each tap registers its secret setting values here
and every message we build, and every log record, passes through `redact`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import traceback
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values are too likely to occur by accident (e.g. "1", "*").
_MIN_SECRET_LENGTH = 4


def derived_forms(value: str) -> set[str]:
    """A secret as it may appear in text: itself; URL-encoded (either case of hex digits);
    escaped as a Python or JSON string literal shows it (a backslash, a quote, a tab); and
    in base64 (alone, or as the user or password half of HTTP Basic credentials, `value:` /
    `:value`)."""
    forms = {value, quote(value, safe=""), quote_plus(value)}
    forms |= {_LOWER_HEX.sub(lambda m: m.group(0).lower(), form) for form in forms}
    forms |= {
        repr(value)[1:-1],
        repr(f'"{value}')[2:-1],  # the other quote character escaped
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for raw in (value, f"{value}:", f":{value}"):
        encoded = base64.b64encode(raw.encode()).decode()
        forms.update({encoded, encoded.rstrip("="), quote(encoded, safe="")})
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


_LOWER_HEX = re.compile(r"%[0-9A-F]{2}")


class SecretRedactor:
    """Replace known secret values and every form derived from them in text.

    Two kinds of value are masked: credentials (ours: the secret settings, the headers and
    tokens we send), which the redirect guard also keeps off other hosts
    (`carries_credential`), and values that are only masked (`add(..., credential=False)`:
    a vendor's pre-signed download link), which must stay out of logs, errors and state but
    are followed to the host they name, however often the vendor hands them out.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        #: Longest first, so a secret that contains another is masked whole.
        self._ordered: tuple[str, ...] = ()
        self._credentials: set[str] = set()
        self._credentials_ordered: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *values: object, credential: bool = True) -> None:
        """Mask `values` (and their derived forms) from now on; `credential=False` for values
        that are not credentials of ours (see the class docstring)."""
        with self._lock:
            known, credentials = len(self._secrets), len(self._credentials)
            for value in values:
                if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
                    continue
                forms = derived_forms(value)
                self._secrets.update(forms)
                if credential:
                    self._credentials.update(forms)
            if len(self._secrets) != known:
                self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))
            if len(self._credentials) != credentials:
                self._credentials_ordered = tuple(sorted(self._credentials, key=len, reverse=True))

    def carries_credential(self, text: str) -> bool:
        """Whether `text` holds a credential (in any derived form); values added with
        `credential=False` do not count."""
        return bool(text) and any(form in text for form in self._credentials_ordered)

    def add_basic_auth(self, user: str, password: str) -> None:
        """HTTP Basic credentials: the base64 of `user:password` (and the pair in clear)."""
        pair = f"{user}:{password}"
        self.add(pair, base64.b64encode(pair.encode()).decode())

    def add_credential_header(self, value: str | bytes) -> None:
        """A credential header as sent (`Basic <b64>`, `Bearer <token>`, a bare key): the
        whole value, the credential after the scheme and, for Basic, the decoded pair."""
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        scheme, _, credential = text.strip().partition(" ")
        self.add(text)
        if not credential:
            return
        self.add(credential.strip())
        if scheme.lower() == "basic":
            try:
                self.add(base64.b64decode(credential.strip(), validate=True).decode("utf-8"))
            except ValueError:
                pass

    @property
    def longest(self) -> int:
        """The length of the longest form registered (0 when none): text cut at a limit must
        be masked with this much more of it first, so no secret spans the cut."""
        ordered = self._ordered
        return len(ordered[0]) if ordered else 0

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._ordered = ()
            self._credentials.clear()
            self._credentials_ordered = ()

    def __call__(self, text: str) -> str:
        if not self._ordered or not text:
            return text
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


#: The process-wide redactor every tap registers its secrets with.
redact = SecretRedactor()


def _masked_exception(exc: BaseException, seen: set[int] | None = None) -> BaseException:
    """A stand-in for `exc` whose text (and whose causes' text) has every secret masked.

    Same class name and module, so structured logs still say what was raised."""
    seen = seen if seen is not None else set()
    seen.add(id(exc))
    text = redact(str(exc))
    stand_in_type: type[Exception] = type(
        type(exc).__name__,
        (Exception,),
        {"__module__": type(exc).__module__, "__str__": lambda self: text},
    )
    stand_in = stand_in_type(text)
    stand_in.__traceback__ = exc.__traceback__
    for link in ("__cause__", "__context__"):
        linked = getattr(exc, link)
        if linked is not None and id(linked) not in seen:
            setattr(stand_in, link, _masked_exception(linked, seen))
    stand_in.__suppress_context__ = exc.__suppress_context__
    return stand_in


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in a log record in place: message, arguments, traceback, stack, extras.

    Records without a secret are left as they are (metric records keep their arguments,
    which the SDK's metric filters and structured formatter read).
    """
    try:
        message = record.getMessage()
    except Exception:  # a malformed log call is not ours to crash on
        message = str(record.msg)
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        if redact(text) != text:
            # Formatters use a pre-rendered exc_text as is; the structured formatter reads
            # exc_info, which now holds a stand-in with the same name and masked text.
            record.exc_text = redact(text).rstrip("\n")
            exc_type, exc_value, exc_tb = record.exc_info
            record.exc_info = (exc_type, _masked_exception(exc_value), exc_tb)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for key, value in list(record.__dict__.items()):
        if key not in _STANDARD_RECORD_FIELDS and isinstance(value, str):
            record.__dict__[key] = redact(value)
    return record


_STANDARD_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in each record (see `mask_record`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_FILTER = RedactingFilter()
_factory_lock = threading.Lock()
_factory_installed = False


def install_log_redaction() -> None:
    """Mask secrets in every log record, whatever logger, handler or formatter sees it.

    A record factory masks each record as it is made (our loggers, the SDK's, urllib3's,
    and whatever handlers SINGER_SDK_LOG_CONFIG configured). Fields passed with `extra=`
    are set after the factory runs, so the filter is also attached to every handler that
    exists now. Idempotent.
    """
    global _factory_installed  # one factory per process
    with _factory_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                return mask_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    known = logging.Logger.manager.loggerDict.values()
    loggers = [root, *(lg for lg in known if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
