"""`support-simulators`: run vendor simulators on loopback.

support-simulators serve thena            # demo port (see registry.DEMO_PORTS)
support-simulators serve thena:0 --latency 0.2 --error-rate 0.05 --rate-limit 5
support-simulators serve xenioo --no-throttle   # rerun a pipeline at once
support-simulators list

`POST /_simulator/reset` on a running simulator clears its faults, its request log and what it
remembers of past calls (Xenioo's hourly throttle). SIGTERM or Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import logging
import signal
import sys
import threading

from support_simulators.framework import Faults
from support_simulators.registry import DEMO_PORTS, available, simulator_class


def _parse_target(text: str) -> tuple[str, int]:
    name, _, port = text.partition(":")
    if name not in available():
        raise argparse.ArgumentTypeError(
            f"unknown simulator {name!r}; choose from {', '.join(available())}"
        )
    return name, int(port) if port else DEMO_PORTS.get(name, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="support-simulators",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the simulators and their demo ports")
    serve = sub.add_parser("serve", help="serve one or more simulators until interrupted")
    serve.add_argument(
        "targets",
        nargs="*",
        type=_parse_target,
        help="NAME[:PORT]; default: all on their demo ports",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    serve.add_argument(
        "--error-rate", type=float, default=0.0, help="share of answers that are 503s"
    )
    serve.add_argument(
        "--broken-body-rate", type=float, default=0.0, help="share of 200s with truncated JSON"
    )
    serve.add_argument(
        "--rate-limit", type=float, default=None, help="requests per second before 429s"
    )
    serve.add_argument("--burst", type=int, default=1)
    serve.add_argument(
        "--max-running-jobs",
        type=int,
        default=None,
        help="report jobs that may run at once; a start beyond them is refused with 429 "
        "(simulators with report jobs: khoros)",
    )
    serve.add_argument(
        "--no-throttle",
        action="store_true",
        help="answer every call the vendor would throttle across runs (Xenioo's one statistics "
        "call per hour), so a pipeline can be run again at once",
    )
    serve.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name in available():
            print(f"{name}\t{DEMO_PORTS.get(name, 0)}")
        return 0

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    targets = args.targets or [(name, DEMO_PORTS.get(name, 0)) for name in available()]
    running = []
    for name, port in targets:
        faults = Faults(
            latency=args.latency,
            error_rate=args.error_rate,
            broken_body_rate=args.broken_body_rate,
            rate_limit=args.rate_limit,
            burst=args.burst,
        )
        cls = simulator_class(name)
        options = {}
        if args.max_running_jobs is not None:
            if "max_running_jobs" not in inspect.signature(cls).parameters:
                parser.error(f"--max-running-jobs: the {name} simulator runs no report jobs")
            options["max_running_jobs"] = args.max_running_jobs
        sim = cls(host=args.host, port=port, seed=args.seed, faults=faults, **options)
        if args.no_throttle:
            sim.relax_limits()
        try:
            sim.start()
        except OSError as exc:
            for started in running:
                started.stop()
            print(
                f"support-simulators: {_cannot_listen(name, args.host, port, exc)}", file=sys.stderr
            )
            return 2
        running.append(sim)
        print(f"{name} simulator listening on {sim.url}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for sim in running:
        sim.stop()
    return 0


def _cannot_listen(name: str, host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} for the {name} simulator is in use (another simulator or "
            f"`make demo`?): stop it, or serve on another port ({name}:PORT, {name}:0 for any)."
        )
    return f"cannot listen on {host}:{port} for the {name} simulator: {exc.strerror or exc}."


if __name__ == "__main__":
    sys.exit(main())
