"""Fixtures shared by several test modules."""

import os
import time

import pytest


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
