"""Run a tap as a user would (its CLI, `python -m <module>`) and read what it wrote.

By default the CLI runs in a fork of the test process: a process of its own (its own stdout,
stderr, exit status, signal handlers, logging, atexit and environment, so nothing a run does
reaches the tests or the next run), without an interpreter's start-up and imports (about
0.65 s a run, most of a short test). `fresh_interpreter=True`, or TAP_RUNNER=python in the
environment for every run, starts `python -m <module>` instead; so does every run but on
Linux (see FORK_AVAILABLE).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import io
import json
import logging
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import warnings
from dataclasses import dataclass, field
from pathlib import Path


class SingerOutput:
    """What a run's Singer messages tell (`messages`: the parsed stdout lines)."""

    messages: list[dict]

    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict | None:
        states = self.states()
        return states[-1] if states else None


@dataclass
class TapRun(SingerOutput):
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    messages: list[dict] = field(default_factory=list)

    def records(self, stream: str | None = None) -> list[dict]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    def bookmark(self, stream: str, state: dict | None = None) -> str | None:
        state = self.final_state if state is None else state
        return ((state or {}).get("bookmarks", {}).get(stream) or {}).get("replication_key_value")

    def bookmarks(self, stream: str) -> list[str]:
        """Every distinct bookmark value the run emitted for `stream`, in order."""
        seen: list[str] = []
        for state in self.states():
            value = self.bookmark(stream, state)
            if value and (not seen or seen[-1] != value):
                seen.append(value)
        return seen

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def error_lines(self) -> list[str]:
        """The lines the run logged at ERROR (the log format's `| ERROR` field)."""
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]

    def one_error_line(self) -> str:
        """The ERROR line of a run that failed with exactly one (asserted: a failure is said in
        one line)."""
        errors = self.error_lines()
        assert self.returncode != 0 and len(errors) == 1, self.stderr[-3000:]
        return errors[0]


#: Called before every run: how a fixture gives each run what a new process meets after the
#: interpreter's start-up (e.g. a simulator's rate limit recovered), which a fork does not wait.
BEFORE_EACH_RUN: list[t.Callable[[], None]] = []


def run_tap(
    module: str,
    config: dict,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 300,
    env: dict | None = None,
    fresh_interpreter: bool = False,
    terminate_when: threading.Event | None = None,
) -> TapRun:
    """`python -m <module> --config ... [--state ...] [--catalog ...] [args]`.

    A run that outlives `timeout` is killed and raises `subprocess.TimeoutExpired`. Once
    `terminate_when` is set (by a simulator, say, when the answer the run waits for stalls),
    the run is sent SIGTERM, as an orchestrator stopping it would.
    """
    forked = not fresh_interpreter and FORK_AVAILABLE and os.environ.get("TAP_RUNNER") != "python"
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp, "config.json")
        config_path.write_text(json.dumps(config))
        cli_args = ["--config", str(config_path), *args]
        if state is not None:
            Path(tmp, "state.json").write_text(json.dumps(state))
            cli_args += ["--state", str(Path(tmp, "state.json"))]
        if catalog is not None:
            Path(tmp, "catalog.json").write_text(json.dumps(catalog))
            cli_args += ["--catalog", str(Path(tmp, "catalog.json"))]
        environ = {"PYTHONUNBUFFERED": "1", **(env or {})}
        for prepare in BEFORE_EACH_RUN:
            prepare()
        started = time.monotonic()
        if forked:
            returncode, stdout, stderr = _forked_cli(
                module, cli_args, environ, Path(tmp), timeout, terminate_when
            )
        else:
            returncode, stdout, stderr = _subprocess_cli(
                module, cli_args, environ, timeout, terminate_when
            )
    run = TapRun(returncode, stdout, stderr, time.monotonic() - started)
    if "--discover" in args or "--about" in args:
        return run  # not Singer messages
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            run.messages.append(json.loads(line))
    return run


def _subprocess_cli(
    module: str,
    cli_args: list[str],
    environ: dict[str, str],
    timeout: float,
    terminate_when: threading.Event | None,
) -> tuple[int, str, str]:
    """`python -m <module> <cli_args>` in a new interpreter: (exit status, stdout, stderr)."""
    command = [sys.executable, "-m", module, *cli_args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **environ},
    ) as process:
        if terminate_when is not None:
            threading.Thread(
                target=_terminate_when, args=(process.pid, terminate_when, process), daemon=True
            ).start()
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise subprocess.TimeoutExpired(command, timeout, stdout, stderr) from None
        return process.returncode, stdout, stderr


def _terminate_when(pid: int, event: threading.Event, process: subprocess.Popen) -> None:
    while process.poll() is None:
        if event.wait(0.05):
            if process.poll() is None:
                os.kill(pid, signal.SIGTERM)
            return


# ---- the CLI in a fork of this process ------------------------------------------------------

#: On Linux. A fork of a process with threads (the simulators') keeps only the forking one;
#: the child here touches no lock of the others. macOS's system libraries may abort such a
#: child (requests reads the proxy settings through them); Windows has no fork.
FORK_AVAILABLE = sys.platform.startswith("linux")
#: A new interpreter's recursion limit (hypothesis raises this process's while a test runs).
_RECURSION_LIMIT = sys.getrecursionlimit()


def _forked_cli(
    module: str,
    cli_args: list[str],
    environ: dict[str, str],
    tmp: Path,
    timeout: float,
    terminate_when: threading.Event | None = None,
) -> tuple[int, str, str]:
    """`python -m <module> <cli_args>` in a fork: (exit status, stdout, stderr)."""
    # Imported here once, so that no fork imports the tap again.
    importlib.import_module(module)
    if importlib.util.find_spec(f"{module}.tap") is not None:
        importlib.import_module(f"{module}.tap")
    out_path, err_path = tmp / "stdout", tmp / "stderr"
    # The child collects none of the objects it shares with this process (no copy of their
    # memory pages), as the gc documentation advises before a fork.
    gc.freeze()
    pid = -1
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns that a fork of a process with threads may deadlock in the
            # child (see FORK_AVAILABLE).
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            pid = os.fork()
    finally:
        if pid != 0:
            gc.unfreeze()
    if pid == 0:
        _child(module, cli_args, environ, out_path, err_path)  # never returns
    try:
        status = _wait(pid, timeout, terminate_when)
    except subprocess.TimeoutExpired as exc:
        exc.cmd = [sys.executable, "-m", module, *cli_args]
        exc.output, exc.stderr = _read(out_path), _read(err_path)
        raise
    return os.waitstatus_to_exitcode(status), _read(out_path), _read(err_path)


def _read(path: Path) -> str:
    """What the child wrote, decoded as `subprocess.run(text=True)` does (universal newlines)."""
    if not path.exists():
        return ""
    return io.TextIOWrapper(io.BytesIO(path.read_bytes()), encoding="utf-8").read()


def _wait(pid: int, timeout: float, terminate_when: threading.Event | None = None) -> int:
    """The child's wait status; after `timeout` seconds it is killed (TimeoutExpired). It is
    sent SIGTERM once `terminate_when` is set."""
    deadline = time.monotonic() + timeout
    terminated = False
    try:
        pidfd = os.pidfd_open(pid)  # Linux 5.3+: readable when the child has exited
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired([], timeout)
            if terminate_when is not None and not terminated:
                if terminate_when.is_set():
                    os.kill(pid, signal.SIGTERM)
                    terminated = True
                else:
                    left = min(left, 0.02)
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.002))
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _child(
    module: str, cli_args: list[str], environ: dict[str, str], out_path: Path, err_path: Path
) -> None:
    """In the fork: become a fresh `python -m <module>` process, run it, exit as it would."""
    status = 70  # EX_SOFTWARE: this function itself failed
    try:
        _fresh_process(environ, out_path, err_path)
        status = _run_main(module, cli_args)
    except BaseException:  # noqa: B036 - nothing may return into the test process's stack
        try:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:  # noqa: B036
            pass
    finally:
        os._exit(status)


def _fresh_process(environ: dict[str, str], out_path: Path, err_path: Path) -> None:
    """What a new interpreter starts with, where this process's state would differ."""
    # stdio: a closed stdin, stdout and stderr into files (unbuffered, as PYTHONUNBUFFERED=1).
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False),
        encoding="utf-8",
        errors="surrogateescape",
        write_through=True,
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    os.environ.update(environ)
    gc.enable()
    # Exit handlers of this process (the test session's) are not the tap's; logging's own,
    # registered first in a new interpreter, runs last.
    atexit._clear()
    atexit.register(logging.shutdown)
    # Logging as a new interpreter has it: no handlers, root at WARNING, no levels set by tests.
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    root.disabled = False
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.handlers.clear()
            logger.setLevel(logging.NOTSET)
            logger.propagate, logger.disabled = True, False
    logging.captureWarnings(False)
    # The interpreter's default warning filters (pytest's, and the test's, are not the CLI's).
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category, append=True)
    # Signals as a new interpreter sets them (the SDK installs its own for SIGINT and SIGTERM).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.excepthook = sys.__excepthook__
    sys.setrecursionlimit(_RECURSION_LIMIT)
    # Secrets registered by the test process (a tap made in it) are not the new run's.
    redaction = sys.modules.get("support_taps.redaction")
    if redaction is not None:
        redaction.redact.clear()


def _run_main(module: str, cli_args: list[str]) -> int:
    """`python -m <module> <cli_args>` up to the exit status, as the interpreter ends it."""
    sys.argv = [module, *cli_args]  # run_module puts the module's path first, as -m does
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except KeyboardInterrupt:
        # An uncaught KeyboardInterrupt ends Python by SIGINT itself.
        _shut_down()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        raise
    except BaseException:  # noqa: B036 - the interpreter reports any other error and exits 1
        sys.excepthook(*sys.exc_info())
        status = 1
    _shut_down()
    return status


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _shut_down() -> None:
    """The interpreter's finalisation: wait for non-daemon threads, run atexit, flush stdio."""
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
