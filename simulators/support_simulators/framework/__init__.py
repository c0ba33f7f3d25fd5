"""The simulator framework, what every vendor simulator is built from.

- `server`: a loopback HTTP server on its own thread (requests, answers, an immediate stop);
- `simulator`: `VendorSimulator`, the base of each vendor's: control endpoints, faults, rate
  limit, credentials and routing, one step each, and the request log;
- `faults`: what a simulator does wrong on purpose (`Fault`, `Faults`);
- `dataset`: data made a day at a time from a seed, and cached (`DailyDataset`, `DayCache`);
- `files`: a pre-signed download host, the second server behind export links (`FileHost`);
- `intercept`: one endpoint answered otherwise, every other as usual (`Intercept`).
"""

from support_simulators.framework.dataset import DailyDataset, DayCache
from support_simulators.framework.faults import Fault, Faults, FixedWindow, TokenBucket
from support_simulators.framework.files import FileHost, HostedFile
from support_simulators.framework.intercept import Intercept
from support_simulators.framework.server import (
    BreakOff,
    LoopbackServer,
    SimRequest,
    SimResponse,
    json_response,
    logger,
    raw_json_response,
)
from support_simulators.framework.simulator import LoggedRequest, Route, VendorSimulator

__all__ = [
    "BreakOff",
    "DailyDataset",
    "DayCache",
    "Fault",
    "Faults",
    "FileHost",
    "FixedWindow",
    "HostedFile",
    "Intercept",
    "LoggedRequest",
    "LoopbackServer",
    "Route",
    "SimRequest",
    "SimResponse",
    "TokenBucket",
    "VendorSimulator",
    "json_response",
    "logger",
    "raw_json_response",
]
