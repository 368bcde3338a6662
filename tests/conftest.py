"""Fixtures shared by several test modules."""

import os
import time

import pytest
from tlscert import make_certificate


@pytest.fixture
def shanghai_clock():
    """Run in UTC+8 so a time.mktime() conversion would be visibly wrong."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1/localhost: (certfile, keyfile)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))
