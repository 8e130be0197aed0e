"""Fixtures of the end-to-end suite.

Each test gets a server of its own (a fresh data directory, port 0) started from the
binary in COMPLAINTFLOW_BIN, with one token file for the whole session; at teardown
the server is stopped with SIGTERM and must exit 0.
"""

from __future__ import annotations

import grpc
import pytest

import cfsupport as cf


@pytest.fixture(scope="session")
def tokens(tmp_path_factory) -> dict:
    """Issued once: token name -> bearer token, stored in `tokens["_file"]`."""
    token_file = tmp_path_factory.mktemp("tokens") / "tokens.toml"
    issued = cf.issue_tokens(token_file)
    issued["_file"] = token_file
    return issued


@pytest.fixture
def server(tmp_path, tokens):
    data_dir = tmp_path / "data"
    srv = cf.start_server(data_dir, tokens["_file"], tmp_path / "server.log")
    yield srv
    if srv.stopped:
        return  # the test stopped it and checked how
    assert srv.process.poll() is None, f"the server died during the test (exit {srv.process.returncode}):\n{srv.log_tail()}"
    code = srv.stop()
    assert code == 0, f"the server exited {code} after SIGTERM:\n{srv.log_tail()}"


@pytest.fixture
def channel(server):
    ch = grpc.insecure_channel(server.address)
    grpc.channel_ready_future(ch).result(timeout=15)
    yield ch
    ch.close()


class Clients:
    """One client per token of TOKEN_SPECS, plus `anonymous`."""

    def __init__(self, channel, tokens):
        self.channel = channel
        for name in cf.TOKEN_SPECS:
            setattr(self, name, cf.Client(channel, tokens[name]))
        self.anonymous = cf.Client(channel, None)

    def with_authorization(self, value: str) -> cf.Client:
        return cf.Client(self.channel, None, raw_authorization=value)


@pytest.fixture
def clients(channel, tokens) -> Clients:
    return Clients(channel, tokens)


@pytest.fixture
def plan() -> cf.TimePlan:
    return cf.time_plan()
