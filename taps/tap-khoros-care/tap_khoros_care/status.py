"""Reading Khoros's job envelopes: the start answer and the status answer.

Khoros's OpenAPI (status endpoint) nests the job: the envelope's `result` is an
object, or a one-item list, holding `jobInfo` (`workflowId`, `runId`, `downloadUrl`,
`statusUrl`) and an inner `result` (object or one-item list) with `runnerState`,
`detail`, `reason` and counts. The deprecated `/reports/jobs` examples say `details`
and leave `detail` out, with `downloadUrl` set once the job is CLOSED. Older answers
(and the start call) are flat: the job's fields sit right in `result`. Every one of
these is read; anything else is an error naming the keys found.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

#: runnerState values of a job still at work ("RUNNING" is Khoros's; the rest are kept
#: for older answers that said so).
RUNNING_STATES = frozenset({"RUNNING", "OPEN", "PENDING", "QUEUED", "SUBMITTED", "STARTED"})
#: runnerState values of a job that ended without a file.
FAILED_STATES = frozenset({"FAILED", "ERROR", "CANCELLED", "CANCELED", "TERMINATED", "TIMED_OUT"})


class EnvelopeShapeError(ValueError):
    """The body is not a Khoros envelope we can read: what was `expected`, and the body
    (`found`), whose shape (never its values) the caller names through the core's
    `unexpected_shape`."""

    def __init__(self, expected: str, found: object) -> None:
        super().__init__(expected)
        self.expected = expected
        self.found = found


def _one(value: object, where: str, payload: object) -> object:
    """An object, or the only item of a one-item list of objects."""
    if isinstance(value, list):
        if len(value) != 1:
            raise EnvelopeShapeError(f"`{where}` as an object or a one-item list", payload)
        return value[0]
    return value


def envelope_result(payload: object) -> dict[str, t.Any]:
    """The `result` object of a `{"status": "PASS", "result": ...}` envelope."""
    if not isinstance(payload, dict):
        raise EnvelopeShapeError("an envelope object {status, result}", payload)
    if "result" not in payload:
        raise EnvelopeShapeError("an envelope with a `result` key", payload)
    result = _one(payload["result"], "result", payload)
    if not isinstance(result, dict):
        raise EnvelopeShapeError("`result` as an object", payload)
    return result


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


@dataclass(frozen=True)
class JobStatus:
    """What one status answer says about a job."""

    runner_state: str
    detail: str
    reason: str
    download_url: str
    status_url: str

    @property
    def running(self) -> bool:
        return self.runner_state in RUNNING_STATES

    @property
    def ready(self) -> bool:
        """CLOSED with a file: `detail` COMPLETED, or (no detail at all) a download URL."""
        if self.runner_state != "CLOSED":
            return False
        return self.detail == "COMPLETED" or (not self.detail and bool(self.download_url))

    @property
    def outcome(self) -> str:
        return "/".join(part for part in (self.runner_state, self.detail) if part) or "unknown"


def read_status(payload: object) -> JobStatus:
    """The job state of a status answer, nested (Khoros's OpenAPI) or flat."""
    result = envelope_result(payload)
    if "jobInfo" in result or isinstance(result.get("result"), (dict, list)):
        job_info = result.get("jobInfo") or {}
        inner = _one(result.get("result"), "result.result", payload)
        if (
            not isinstance(job_info, dict)
            or not isinstance(inner, dict)
            or "runnerState" not in inner
        ):
            raise EnvelopeShapeError("a nested job with `result.result.runnerState`", payload)
    else:
        if "runnerState" not in result:
            raise EnvelopeShapeError("`runnerState` in `result` or in `result.result`", payload)
        job_info, inner = result, result
    state = _text(inner.get("runnerState")).upper()
    if not state:
        raise EnvelopeShapeError("a non-empty `runnerState`", payload)
    detail = _text(
        inner.get("detail") if inner.get("detail") is not None else inner.get("details")
    ).upper()
    return JobStatus(
        runner_state=state,
        detail=detail,
        reason=_text(inner.get("reason")),
        download_url=_text(job_info.get("downloadUrl")),
        status_url=_text(job_info.get("statusUrl")),
    )
