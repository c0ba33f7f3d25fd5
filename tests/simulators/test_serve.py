"""`support-simulators serve` as a user runs it: beside the tests (which never use its ports),
a one-line error for a busy port, a reset of what the vendor remembers, a stop on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support_simulators.registry import DEMO_PORTS


def _serve(*args: str) -> tuple[subprocess.Popen, list[str]]:
    """`python -m support_simulators serve ARGS`, once every simulator says where it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "support_simulators", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    names = [a for a in args if re.fullmatch(r"[a-z]+(:\d+)?", a)]
    urls = []
    for _ in names:
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        urls.append(match[1])
    return process, urls


def _post(url: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_sigterm_stops_at_once_even_with_a_request_in_flight():
    process, (url,) = _serve("thena:0", "--latency", "30")
    try:
        port = int(url.rsplit(":", 1)[1])
        in_flight = threading.Thread(
            target=lambda: _quietly(urllib.request.urlopen, f"{url}/v1/requests/exports"),
            daemon=True,
        )
        in_flight.start()
        time.sleep(0.5)  # the request is being answered (30 s of latency)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 3
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _quietly(call, *args):
    try:
        call(*args, timeout=60)
    except Exception:
        pass


def test_a_busy_port_is_one_line_naming_it():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "support_simulators", "serve", "thankful:0", f"thena:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr == (
        f"support-simulators: port {port} on 127.0.0.1 for the thena simulator is in use "
        "(another simulator or `make demo`?): stop it, or serve on another port (thena:PORT, "
        "thena:0 for any).\n"
    )


def _statistics(url: str) -> int:
    """The status of an account-statistics call (the day mode, a day), with a fresh token."""
    answer = _post(f"{url}/authorization/integration", {"AccountAPIKey": "xenioo-demo-account-key"})
    request = urllib.request.Request(
        f"{url}/analytics/statistics/account/*/1/day/1",
        headers={"Authorization": f"Bearer {answer.get('token') or answer.get('Token')}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refusal:
        return refusal.code


@pytest.mark.parametrize("relaxed", [False, True])
def test_xenioo_throttle_is_reset_by_the_control_endpoint_or_relaxed_by_a_flag(relaxed):
    process, (url,) = _serve("xenioo:0", *(["--no-throttle"] if relaxed else []))
    try:
        assert _statistics(url) == 200
        assert _statistics(url) == (200 if relaxed else 400)  # Xenioo: one call an hour
        assert _post(f"{url}/_simulator/reset") == {"ok": True}
        assert _statistics(url) == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def _hold_free_demo_ports() -> list[socket.socket]:
    """Listen on each demo port that is free, as `support-simulators serve` would: a connection
    to it is accepted and never answered, so a test that used it would fail."""
    held = []
    for port in DEMO_PORTS.values():
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # already held (a user's simulators): the same for this test
            sock.close()
            continue
        sock.listen()
        held.append(sock)
    return held


def test_the_tests_run_while_the_demo_ports_are_held(tmp_path):
    """`make test` beside `support-simulators serve`: every simulator the tests start takes an
    ephemeral port, and a tap runs through one, with its files in a temporary folder."""
    from kit_thena import API_KEY, thena_config
    from tap_runner import run_tap

    from support_simulators.registry import simulator_class

    held = _hold_free_demo_ports()
    try:
        for name in DEMO_PORTS:
            with simulator_class(name)() as sim:
                assert sim.port not in DEMO_PORTS.values(), name
        with simulator_class("thena")(api_key=API_KEY) as sim:
            run = run_tap(
                "tap_thena",
                thena_config(sim, start_date="2025-01-01", end_date="2025-01-03"),
            )
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.records("requests")
    finally:
        for sock in held:
            sock.close()


def test_no_test_names_a_demo_port_or_the_demo_output_folder():
    """The tests' ports and files are their own: no test module names the demo's ports or
    `output/` (the demo script takes --duckdb, --logs and --summary, the demo test passes
    temporary paths)."""
    tests = Path(__file__).resolve().parents[1]
    demo_ports = "|".join(str(port) for port in DEMO_PORTS.values())
    pattern = re.compile(rf"(127\.0\.0\.1|localhost):({demo_ports})\b|[\"'/]output/")
    found = [
        f"{path.relative_to(tests)}:{number}"
        for path in sorted(tests.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line) and path != Path(__file__).resolve()
    ]
    assert found == []
