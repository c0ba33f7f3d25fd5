"""The auth token: obtained by the tap, shared, renewed on expiry or refusal; secrets stay out of
output."""

from __future__ import annotations

import datetime as dt
import json
import logging

import requests
from kit_xenioo import ACCOUNT_KEY, BOT_SETTINGS, STREAMS, simulator, xenioo_config
from tap_runner import run_tap

from support_simulators.framework import Fault, SimResponse, VendorSimulator
from support_taps.retry import RetryPolicy
from tap_xenioo.auth import XeniooAuthenticator

AUTH = "/authorization/integration"
STATS = "/analytics/"


def _assert_no_secrets(run, sim) -> None:
    text = run.stdout + run.stderr
    for secret in [ACCOUNT_KEY, *(bot["api_key"] for bot in BOT_SETTINGS), *sim.issued_tokens]:
        assert secret not in text, "a secret reached the tap's output"


def test_one_token_serves_the_whole_run(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    (auth,) = xenioo.calls(AUTH)
    assert auth.method == "POST"
    (token,) = xenioo.issued_tokens
    stats = xenioo.calls(STATS)
    assert len(stats) == 4 and {c.headers["Authorization"] for c in stats} == {f"Bearer {token}"}
    assert "valid for 60 minutes" in run.stderr
    _assert_no_secrets(run, xenioo)


def test_a_refused_token_is_renewed_and_the_call_repeated():
    # Each token is good for one statistics call, then Xenioo refuses it (HTTP 401).
    with simulator(token_uses=1) as sim:
        config = xenioo_config(sim)
        run = run_tap("tap_xenioo", config)
        assert run.returncode == 0, run.stderr
        assert len(sim.calls(STATS, status=401)) == 3
        assert len(sim.calls(STATS, status=200)) == 4
        assert len(sim.issued_tokens) == 4
        assert "renewing the auth token" in run.stderr
        for stream, (_, keys) in sim.expected_primary_keys(config).items():
            assert len(run.records(stream)) == len(keys), stream
        _assert_no_secrets(run, sim)


def test_an_expiring_token_is_renewed_before_it_is_used(xenioo):
    moment = [dt.datetime.now(dt.timezone.utc)]
    auth = XeniooAuthenticator(
        account_api_key=ACCOUNT_KEY,
        endpoint=xenioo.url + AUTH,
        policy=RetryPolicy(),
        timeout=5,
        logger=logging.getLogger("test"),
        clock=lambda: moment[0],  # the token's age, in Xenioo's time
    )

    def bearer() -> str:
        prepared = requests.Request("GET", xenioo.url + "/analytics/x").prepare()
        return auth(prepared).headers["Authorization"]

    def advance(minutes: float) -> None:  # the tap's clock and Xenioo's move together
        moment[0] += dt.timedelta(minutes=minutes)
        xenioo.advance(minutes * 60)

    first = bearer()
    assert first == f"Bearer {xenioo.issued_tokens[0]}"
    advance(58)  # still valid: reused
    assert bearer() == first
    advance(1.5)  # under a minute left of the 60-minute token: renewed before use
    second = bearer()
    assert second == f"Bearer {xenioo.issued_tokens[1]}"
    assert len(xenioo.calls(AUTH)) == 2
    # ...which is what Xenioo requires: past the hour the first token is refused, the new one
    # is not.
    advance(1)
    assert bearer() == second
    url = xenioo.url + "/analytics/statistics/dlr/account/*/day/1"
    assert requests.get(url, headers={"Authorization": first}, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": second}, timeout=5).status_code == 200


def test_a_token_refused_again_after_renewal_stops_with_a_clear_error():
    with simulator(token_uses=0) as sim:
        run = run_tap("tap_xenioo", xenioo_config(sim))
        assert run.returncode != 0
        assert "refused a freshly obtained auth token (HTTP 401)" in run.stderr
        assert "`account_api_key`" in run.stderr
        assert len(sim.issued_tokens) == 2, "renew once, not forever"
        assert not run.records()
        _assert_no_secrets(run, sim)


def test_an_unknown_account_key_names_the_setting(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo, account_api_key="xen-wrong-account-key-0000"))
    assert run.returncode != 0
    assert (
        "does not know the account API key (HTTP 404 from POST /authorization/integration)"
        in run.stderr
    )
    assert "`account_api_key`" in run.stderr
    assert "xen-wrong-account-key-0000" not in run.stdout + run.stderr
    assert not xenioo.calls(STATS)


def test_a_forbidden_account_is_explained(xenioo):
    xenioo.faults.add(
        Fault(status=403, body=b'{"Message": "Free accounts cannot use the API"}', path_prefix=AUTH)
    )
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode != 0
    assert (
        "HTTP 403" in run.stderr
        and "free one or not allowed to use the Global Platform API" in run.stderr
    )


def test_token_request_is_retried_on_server_errors(xenioo):
    xenioo.faults.add(Fault(status=503, path_prefix=AUTH), Fault(drop=True, path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    assert "Retrying the token request" in run.stderr
    assert len(run.records("bot_statistics")) > 0


def test_token_request_gives_up_with_a_message(xenioo):
    xenioo.faults.add(*[Fault(status=502, path_prefix=AUTH) for _ in range(5)])
    run = run_tap("tap_xenioo", xenioo_config(xenioo, max_retries=1))
    assert run.returncode != 0
    assert "Gave up after 2 attempts" in run.stderr
    assert "HTTP 502" in run.stderr and "Could not obtain a Xenioo auth token" in run.stderr
    assert "`auth_url`" in run.stderr


def test_a_token_answer_without_token_is_reported(xenioo):
    xenioo.faults.add(Fault(status=200, body=b'{"expires": 60}', path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode != 0
    assert (
        "Xenioo POST /authorization/integration (HTTP 200): expected a token answer, an object "
        "with a `token` string, found object{expires: int}."
    ) in run.stderr


def test_auth_url_may_be_given_with_the_full_path(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo, auth_url=xenioo.url + AUTH))
    assert run.returncode == 0, run.stderr
    assert [c.path for c in xenioo.calls("/authorization")] == [AUTH]
    assert all(run.records(stream) for stream in STREAMS)


def test_a_token_answer_cut_short_is_asked_again_like_a_5xx(xenioo):
    xenioo.faults.add(Fault(status=200, truncate=0.5, path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    assert [c.status for c in xenioo.calls(AUTH)] == [200, 200]  # the cut answer, then a whole one
    assert "Retrying the token request" in run.stderr and "cut short" in run.stderr


def test_a_token_endpoint_redirecting_the_key_to_another_host_is_refused(xenioo):
    # A 307/308 re-sends the POST body (with `AccountAPIKey`) as it was; localhost and
    # 127.0.0.1 are different hosts to a client, like api.xenioo.com and cdn.elsewhere.net.
    with VendorSimulator() as elsewhere:
        for status in (307, 308):
            xenioo.faults.add(
                Fault(
                    status=status,
                    location=f"http://localhost:{elsewhere.port}{{path}}",
                    path_prefix=AUTH,
                )
            )
            run = run_tap("tap_xenioo", xenioo_config(xenioo))
            assert not elsewhere.calls(), "the account API key went to another host"
            assert run.returncode != 0
            assert (
                f"Xenioo's token endpoint redirected POST {AUTH} to another host (localhost)"
                in run.stderr
            )
            assert "not followed, so the account API key was not sent" in run.stderr
            assert "does not know the account API key" not in run.stderr
            assert not xenioo.calls(STATS)
            _assert_no_secrets(run, xenioo)


def test_an_answer_from_another_host_is_not_blamed_on_the_key(xenioo):
    # A 302/303 turns the POST into a GET without its body: followed (no key goes), and what
    # the other host answers is reported as its answer, not as Xenioo's verdict on the key.
    with VendorSimulator() as elsewhere:
        xenioo.faults.add(
            Fault(status=302, location=f"http://localhost:{elsewhere.port}/login", path_prefix=AUTH)
        )
        run = run_tap("tap_xenioo", xenioo_config(xenioo))
        (seen,) = elsewhere.calls()
        assert seen.method == "GET" and "Content-Length" not in seen.headers  # no body
        assert run.returncode != 0
        assert (
            f"Xenioo's token endpoint (POST {AUTH}) redirected to another host (localhost), "
            "which answered HTTP 404"
        ) in run.stderr
        assert "does not know the account API key" not in run.stderr
        assert "`auth_url`" in run.stderr
        _assert_no_secrets(run, xenioo)


def test_the_token_request_has_a_deadline(xenioo):
    # A token endpoint that trickles its answer would hold the run forever without one.
    xenioo.faults.add(*[Fault(status=200, delay=3, path_prefix=AUTH) for _ in range(3)])
    run = run_tap(
        "tap_xenioo", xenioo_config(xenioo, request_deadline=0.5, request_timeout=10, max_retries=1)
    )
    assert run.returncode != 0
    assert "Could not obtain a Xenioo auth token" in run.stderr
    assert "request_deadline" in run.stderr


def test_a_token_lifetime_beyond_any_number_falls_back_to_an_hour(xenioo):
    # 1e308 minutes is a double; in seconds it is not (it overflowed to infinity).
    body = b'{"token": "a-token-of-some-length", "expires": 1e308}'
    xenioo.faults.add(Fault(status=200, body=body, path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "valid for 60 minutes" in run.stderr


def test_a_token_request_redirected_to_another_host_keeps_the_key_home(xenioo):
    # A 307 re-sends the POST body, the account key with it: it is not followed.
    with VendorSimulator() as elsewhere:
        xenioo.faults.add(
            Fault(status=307, location=f"http://localhost:{elsewhere.port}/t", path_prefix=AUTH)
        )
        run = run_tap("tap_xenioo", xenioo_config(xenioo))
        assert not elsewhere.calls()
    error = run.one_error_line()
    assert "redirected POST /authorization/integration to another host (localhost)" in error
    _assert_no_secrets(run, xenioo)


def test_a_token_request_answered_408_is_asked_again(xenioo):
    xenioo.faults.add(Fault(status=408, path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo, retry_base_wait=0.01))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(xenioo.calls(AUTH)) == 2


def test_a_token_no_header_can_carry_is_one_line_naming_the_request(xenioo):
    body = '{"token": "tok-\u202eevil\u202c-0123456789", "expires": 60}'.encode()
    xenioo.faults.add(Fault(status=200, body=body, path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    error = run.one_error_line()
    assert "token answer from POST /authorization/integration (HTTP 200)" in error
    assert "no HTTP header can carry" in error


def test_a_404_after_a_redirect_to_another_host_blames_that_host(xenioo):
    with VendorSimulator() as elsewhere:
        xenioo.faults.add(
            Fault(status=307, location=f"http://localhost:{elsewhere.port}/gone", path_prefix=STATS)
        )
        run = run_tap("tap_xenioo", xenioo_config(xenioo))
    error = run.one_error_line()
    assert "redirected GET /analytics/statistics/" in error
    assert "to another host (localhost), which answered HTTP 404" in error
    _assert_no_secrets(run, xenioo)


def test_a_token_request_redirected_to_another_scheme_names_the_request(xenioo):
    xenioo.faults.add(Fault(status=302, location="file:///etc/passwd", path_prefix=AUTH))
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    error = run.one_error_line()
    assert (
        "Xenioo redirected POST /authorization/integration to a URL that is not http(s)"
    ) in error


def test_a_bucket_from_the_future_lands_and_the_bookmark_does_not_follow_it(xenioo):
    def dated_2099(request, normal):
        response = normal()
        rows = json.loads(response.body)
        for row in rows:
            row["GroupLabel"] = "2099-06-30T12:00:00+14:00"
        return SimResponse(200, json.dumps(rows).encode(), {"Content-Type": "application/json"})

    xenioo.intercept("GET", r"/analytics/statistics/bot/.*", dated_2099)
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.records("bot_statistics")
    assert {r["period_start"][:4] for r in run.records("bot_statistics")} == {"2099"}
    partitions = [
        part
        for state in run.states()
        for part in state["bookmarks"].get("bot_statistics", {}).get("partitions", [])
    ]
    assert partitions and all(
        "2099" not in str(part.get("replication_key_value")) for part in partitions
    )
    warnings = [line for line in run.stderr.splitlines() if "a bucket dated 2099" in line]
    assert len(warnings) == 1
