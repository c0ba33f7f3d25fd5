"""What a simulator's server does with an error while answering: nothing on stderr."""

from __future__ import annotations

import logging

from support_simulators.thena import ThenaSimulator


def test_a_client_that_went_away_is_not_a_traceback_on_stderr(capsys, caplog):
    # Taps are stopped, time out and are killed mid-answer, on purpose in many tests; the
    # stdlib's handler printed each as a traceback on stderr, where a test reading a one-line
    # error from stderr found it (issue 22: a test of the accounts file failed so).
    with ThenaSimulator() as sim, caplog.at_level(logging.DEBUG, "support_simulators"):
        server = sim._server
        assert server is not None
        for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise gone
            except OSError:
                server.handle_error(None, ("127.0.0.1", 1))
        try:
            raise ValueError("a bug in a route")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 2))
    assert capsys.readouterr().err == ""
    went_away = [r for r in caplog.records if "went away" in r.getMessage()]
    assert [r.levelno for r in went_away] == [logging.DEBUG, logging.DEBUG]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "error answering" in errors[0].getMessage()
    assert errors[0].exc_info is not None and "a bug in a route" in str(errors[0].exc_info[1])
