"""How a run ends when it fails: one line naming what to fix, the traceback only at DEBUG.

The SDK's command logs a fatal error with its whole traceback (about 20 lines of SDK frames
after every message a user can act on) and logs "An unhandled error occurred while syncing"
before it. Every error the core and the taps raise already says what went wrong and which
setting or response is at fault, so the traceback is noise to a user and useful only to us:
it goes to DEBUG. An error nobody anticipated (a bug) says so and asks for a report.

A target that stops reading (`tap ... | head -1`, a crashed loader) closes the pipe: that is
one line too, and nothing more is written to it.
"""

from __future__ import annotations

import logging
import os
import sys
import typing as t
from types import TracebackType

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from support_taps.redaction import redact
from support_taps.state import StateError

#: Errors whose message is the whole story (what failed, and what to check).
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    FatalAPIError,
    ConfigValidationError,
    StateError,
    ValueError,
)


class TargetClosed(BrokenPipeError):
    """The target stopped reading our output."""


TARGET_CLOSED = (
    "The target stopped reading (it closed the pipe) before the run ended; the last STATE "
    "message it received covers every record before it."
)


def one_line_excepthook(
    logger: logging.Logger,
) -> t.Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """An excepthook for the SDK's command: one ERROR line, the traceback at DEBUG."""

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, traceback: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, traceback)
            return
        if isinstance(exc, BrokenPipeError):
            silence_stdout()
            message = TARGET_CLOSED
        elif isinstance(exc, EXPECTED_ERRORS):
            message = str(exc.args[0]) if exc.args else exc_type.__name__
        else:
            message = (
                f"Unexpected {exc_type.__name__}: {exc}. This is a bug in the tap; please "
                "report it with the traceback (shown with the log level set to DEBUG)."
            )
        logger.error("%s", redact(" ".join(message.split())))
        logger.debug("Traceback of the error above:", exc_info=(exc_type, exc, traceback))

    return excepthook


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # no real stdout (an in-process run): nothing will be flushed to a pipe


class QuietSyncFailure(logging.Filter):
    """The SDK's "An unhandled error occurred while syncing" and "Config validation failed"
    go to DEBUG: the error itself is one line already (the summary names the stream; each
    setting error names its setting)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.msg in _SDK_FAILURE_LINES:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_SDK_FAILURE_LINES = ("An unhandled error occurred while syncing '%s'", "Config validation failed")


_QUIET = QuietSyncFailure()


def quiet_sdk_failure_line() -> None:
    """Attach `QuietSyncFailure` to every handler there is (the SDK's console handler, and
    any a logging config file set up). Idempotent."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if _QUIET not in handler.filters:
                handler.addFilter(_QUIET)
