"""No credential leaves the API host on a redirect; every derived form of a secret is masked."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import requests
from kit_logs import captured_log
from kit_thankful import API_KEY, thankful_config
from tap_runner import run_tap

from support_simulators.framework import Fault, VendorSimulator
from support_simulators.thankful import ThankfulSimulator
from support_taps.http import CredentialGuardSession, CredentialRedirectRefused
from support_taps.redaction import install_log_redaction, redact


@pytest.fixture
def thankful():
    with ThankfulSimulator(api_key=API_KEY) as sim:
        yield sim


@pytest.fixture
def elsewhere():
    """Another host: it answers nothing useful but logs every header it receives."""
    with VendorSimulator() as sim:
        yield sim


def _headers_seen(sim: VendorSimulator) -> list[dict[str, str]]:
    return [r.headers for r in sim.calls()]


def test_thankful_does_not_send_its_api_key_to_another_host_on_redirect(thankful, elsewhere):
    # localhost and 127.0.0.1 are different hosts to a client, like api.x.com and cdn.y.net.
    thankful.faults.add(
        Fault(
            status=307,
            location=f"http://localhost:{elsewhere.port}{{path}}?{{query}}",
            path_prefix="/api/v1/savings",
        )
    )
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-02"))
    assert elsewhere.calls(), "the redirect was not followed at all: the test proves nothing"
    for headers in _headers_seen(elsewhere):
        assert "X-API-Key" not in headers and API_KEY not in json.dumps(headers)
    assert run.returncode != 0  # the other host answers 404: an error, never a silent skip
    assert API_KEY not in run.output


def test_a_redirect_on_the_api_host_keeps_the_credentials(thankful):
    thankful.faults.add(Fault(status=307, location="{path}?{query}", path_prefix="/api/v1/savings"))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-02"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(thankful.calls("/api/v1/savings", status=307)) == 1
    assert len(thankful.calls("/api/v1/savings", status=200)) == 1
    assert run.records("savings")


def test_every_credential_header_is_stripped_and_a_secret_url_is_refused(elsewhere):
    redact.add("bot-key-0123456789")
    with VendorSimulator() as home:
        home.faults.add(
            Fault(status=302, location=f"http://localhost:{elsewhere.port}/next"),
            Fault(
                status=302, location=f"http://localhost:{elsewhere.port}/stats/bot-key-0123456789"
            ),
        )
        session = CredentialGuardSession(home_url=lambda: home.url)
        headers = {
            "Authorization": "Bearer tok-abcdef",
            "X-API-Key": "k-abcdef",
            "X-Custom": "bot-key-0123456789",
            "Accept": "application/json",
        }
        session.get(f"{home.url}/first", headers=headers, timeout=5)
        (seen,) = _headers_seen(elsewhere)
        assert "Authorization" not in seen and "X-API-Key" not in seen and "X-Custom" not in seen
        assert seen["Accept"] == "application/json"
        with pytest.raises(CredentialRedirectRefused) as refused:
            session.get(f"{home.url}/second", headers=headers, timeout=5)
        assert "bot-key-0123456789" not in str(refused.value)
        assert refused.value.host == "localhost"  # for taps that word the error their own way
        assert str(refused.value).startswith(
            "The API redirected GET /second to another host (localhost) with a credential"
        )
        assert len(elsewhere.calls()) == 1  # the URL with the key was never requested
        with pytest.raises(CredentialRedirectRefused) as refused:
            home.faults.add(Fault(status=307, location=f"http://localhost:{elsewhere.port}/t"))
            session.post(f"{home.url}/token", data={"key": "bot-key-0123456789"}, timeout=5)
        assert str(refused.value).startswith(
            "The API redirected POST /token to another host (localhost) with a credential in "
            "the request body"
        )


def test_a_vendor_link_is_masked_but_followed_and_a_credential_is_not(elsewhere):
    # A vendor's pre-signed link is masked (credential=False) but is not ours to keep home: a
    # redirect to it is followed however often it is handed out; one carrying a credential is not.
    redact.add("cred-value-0123456789")
    redact.add("/exports/f00d/report.csv", credential=False)
    with VendorSimulator() as home:
        link = f"http://localhost:{elsewhere.port}/exports/f00d/report.csv"
        home.faults.add(Fault(status=307, location=link), Fault(status=307, location=link))
        session = CredentialGuardSession(home_url=lambda: home.url)
        for _ in range(2):
            session.get(f"{home.url}/download", timeout=5)
        assert [c.path for c in elsewhere.calls()] == ["/exports/f00d/report.csv"] * 2
        assert "/exports/f00d/report.csv" not in redact(link)
        assert not redact.carries_credential(link)
        home.faults.add(Fault(status=307, location=f"{link}?k=cred-value-0123456789"))
        with pytest.raises(CredentialRedirectRefused):
            session.get(f"{home.url}/download", timeout=5)
        assert len(elsewhere.calls()) == 2


def test_basic_credentials_and_bearer_tokens_are_masked_in_every_form():
    user, password = "analytics-user", "pa ss/w0rd+1"
    redact.add(password)
    redact.add_basic_auth(user, password)
    pair_b64 = base64.b64encode(f"{user}:{password}".encode()).decode()
    redact.add_credential_header("Bearer tok-0123456789")
    echoed = (
        f"<html>Authorization: Basic {pair_b64} / {pair_b64.rstrip('=')} / {user}:{password} / "
        f"pa%20ss%2Fw0rd%2B1 / pa+ss%2Fw0rd%2B1 / Bearer tok-0123456789 / "
        f"{base64.b64encode(password.encode()).decode()}</html>"
    )
    masked = redact(echoed)
    for form in (
        pair_b64,
        pair_b64.rstrip("="),
        password,
        "pa%20ss%2Fw0rd%2B1",
        "pa+ss%2Fw0rd%2B1",
        "tok-0123456789",
        base64.b64encode(password.encode()).decode(),
    ):
        assert form not in masked
    assert user not in masked or f"{user}:" not in masked


def test_the_session_registers_what_it_sends_so_an_echo_is_masked():
    with VendorSimulator() as home:
        home.faults.add(Fault(status=500, body=b"echo"))
        session = CredentialGuardSession(home_url=lambda: home.url)
        session.get(home.url + "/x", auth=("someone", "hunter2-secret"), timeout=5)
    header = "Basic " + base64.b64encode(b"someone:hunter2-secret").decode()
    assert redact(f"server said: {header}") == "server said: ***"
    assert "hunter2-secret" not in redact("someone:hunter2-secret")


def test_records_are_masked_for_every_logger_handler_and_formatter():
    install_log_redaction()
    redact.add("record-level-secret")
    # A handler added after installation, with no filter of ours.
    formatter = logging.Formatter("%(name)s %(message)s %(detail)s")
    with captured_log("urllib3.connectionpool", formatter=formatter, level=logging.DEBUG) as (
        logger,
        stream,
    ):
        logger.debug('"GET /stats/%s HTTP/1.1" 200', "record-level-secret", extra={"detail": "-"})
        try:
            raise ValueError("bad key record-level-secret")
        except ValueError:
            logger.exception("failed", extra={"detail": "-"})
    output = stream.getvalue()
    assert "record-level-secret" not in output
    assert "GET /stats/*** HTTP/1.1" in output and "ValueError: bad key ***" in output


def test_structured_log_records_keep_metrics_and_mask_exceptions():
    from singer_sdk.logging import StructuredFormatter

    install_log_redaction()
    secret = "structured-" + "secret"  # not in the source line the traceback quotes
    redact.add(secret)
    with captured_log("structured-test", formatter=StructuredFormatter()) as (logger, stream):
        try:
            raise requests.exceptions.ConnectionError(f"cannot reach https://h/{secret}")
        except requests.exceptions.ConnectionError:
            logger.exception("request failed")
    line = json.loads(stream.getvalue())
    assert secret not in stream.getvalue()
    assert line["exception"]["type"] == "ConnectionError"
    assert line["exception"]["message"] == "cannot reach https://h/***"


def test_a_log_file_from_singer_sdk_log_config_never_holds_a_secret(tmp_path):
    from kit_xenioo import BOTS, simulator, xenioo_config

    log_file = tmp_path / "tap.log"
    config_file = tmp_path / "logging.yml"
    # urllib3 to a file of its own (not through the root logger's handlers), as a user
    # chasing a network problem would configure it.
    config_file.write_text(
        "version: 1\n"
        "disable_existing_loggers: false\n"
        "formatters:\n  plain:\n    format: '%(levelname)s %(name)s %(message)s'\n"
        "handlers:\n  file:\n    class: logging.FileHandler\n"
        f"    filename: {log_file}\n    formatter: plain\n"
        "loggers:\n  urllib3:\n    level: DEBUG\n    handlers: [file]\n    propagate: false\n"
    )
    with simulator() as xenioo:
        # Xenioo bot keys travel in the URL path, which urllib3 logs with every request.
        run = run_tap(
            "tap_xenioo",
            xenioo_config(xenioo),
            env={"SINGER_SDK_LOG_CONFIG": str(config_file)},
            fresh_interpreter=True,  # logging configured from the environment at start-up
        )
    text = log_file.read_text()
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"GET /' in text, "urllib3 did not log requests to the file: the test proves nothing"
    for key in BOTS:
        assert key not in text and key not in run.output


def test_khoros_error_page_echoing_basic_credentials_is_masked():
    from kit_khoros import PASSWORD, USERNAME, khoros_config, khoros_simulator

    pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    echo = (
        f"<html><pre>Authorization: Basic {pair}\nX-Debug: {pair.rstrip('=')}</pre></html>".encode()
    )
    with khoros_simulator() as sim:
        sim.faults.add(Fault(status=500, body=echo), Fault(status=400, body=echo))
        run = run_tap("tap_khoros_care", khoros_config(sim, max_retries=2))
    assert run.returncode != 0
    assert "Authorization: ***" in run.stderr, run.stderr[-2000:]
    for form in (pair, pair.rstrip("="), PASSWORD):
        assert form not in run.output
