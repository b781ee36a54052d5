"""The outside review of issue 13: the client tests' stub server, as a fixture."""

import pytest

from tests.test_r20_client import Stub


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()
