from datetime import UTC, datetime, timedelta

import pytest

from monitor.decide import (
    LONGEST_WAIT,
    Policy,
    PollResult,
    SourceState,
    backoff,
    next_state,
)

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
POLICY = Policy(
    interval=timedelta(minutes=30), max_interval=timedelta(hours=24), max_backoff=timedelta(hours=6)
)
OK = PollResult("ok", ok=True, status=200, etag='"v2"', last_modified="Sun, 22 Nov 2026")


def test_success_resets_errors_and_keeps_validators():
    s = SourceState("a", consecutive_errors=3, last_error="boom", etag='"v1"')
    n = next_state(s, OK, POLICY, now=NOW)
    assert (n.consecutive_errors, n.last_error, n.etag, n.last_success) == (0, None, '"v2"', NOW)
    assert n.next_check == NOW + timedelta(minutes=30)  # rand 0.5 = no jitter


def test_not_modified_keeps_the_old_validators():
    s = SourceState("a", etag='"v1"', last_modified="x")
    n = next_state(s, PollResult("not_modified", ok=True, status=304), POLICY, now=NOW)
    assert (n.etag, n.last_modified) == ('"v1"', "x")


@pytest.mark.parametrize(
    "ttl, max_age, expected",
    [
        (None, None, timedelta(minutes=30)),
        (3600, None, timedelta(hours=1)),  # RSS ttl stretches the interval
        (None, 7200, timedelta(hours=2)),  # so does Cache-Control max-age
        (60, 10, timedelta(minutes=30)),  # hints never shorten it
        (86400 * 7, None, timedelta(hours=24)),  # capped at max_interval
    ],
)
def test_server_hints(ttl, max_age, expected):
    r = PollResult("ok", ok=True, ttl=ttl, max_age=max_age)
    assert next_state(SourceState("a"), r, POLICY, now=NOW).next_check == NOW + expected


@pytest.mark.parametrize("rand, factor", [(0.0, 0.9), (0.999999, 1.1)])
def test_jitter_spreads_checks_by_ten_percent(rand, factor):
    n = next_state(SourceState("a"), OK, POLICY, now=NOW, rand=rand)
    assert abs((n.next_check - NOW) - timedelta(minutes=30) * factor) < timedelta(seconds=1)


def test_failures_back_off_exponentially_and_never_stop():
    s = SourceState("a")
    waits = []
    for _ in range(12):
        s = next_state(
            s, PollResult("server_error", ok=False, status=500, error="HTTP 500"), POLICY, now=NOW
        )
        waits.append(s.next_check - NOW)
    assert waits[:4] == [
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=6),
    ]
    assert all(w == timedelta(hours=6) for w in waits[4:])
    assert s.consecutive_errors == 12 and s.retired_at is None and s.last_error == "HTTP 500"


def test_backoff_never_below_interval():
    slow = Policy(interval=timedelta(days=1), max_backoff=timedelta(hours=6))
    assert backoff(slow, 1) == timedelta(days=1)


def test_retry_after_is_honoured_when_longer_than_backoff():
    r = PollResult("rate_limited", ok=False, status=429, retry_after=5 * 3600)
    n = next_state(SourceState("a"), r, POLICY, now=NOW)
    assert n.next_check == NOW + timedelta(hours=5)
    short = PollResult("rate_limited", ok=False, status=429, retry_after=5)
    assert next_state(SourceState("a"), short, POLICY, now=NOW).next_check == NOW + timedelta(
        hours=1
    )


@pytest.mark.parametrize("seconds", [31_536_000, 999_999_999_999, 1e300])
def test_retry_after_is_capped_at_the_longest_wait_between_checks(seconds):
    """A server asking for a year (or more than a date can hold) waits max_interval."""
    r = PollResult("unavailable", ok=False, status=503, retry_after=seconds)
    assert next_state(SourceState("a"), r, POLICY, now=NOW).next_check == NOW + timedelta(hours=24)


def test_gone_retires_and_success_revives():
    n = next_state(
        SourceState("a"),
        PollResult("gone", ok=False, status=410, gone=True, error="HTTP 410 Gone"),
        POLICY,
        now=NOW,
    )
    assert n.retired_at == NOW and n.next_check is None and not n.due(NOW + timedelta(days=9))
    assert next_state(n, OK, POLICY, now=NOW).retired_at is None


def test_permanent_redirect_moves_the_url():
    r = PollResult("ok", ok=True, moved_to="https://new.example/feed")
    n = next_state(SourceState("a", url="https://old.example/feed"), r, POLICY, now=NOW)
    assert n.url == "https://new.example/feed"


def test_due():
    assert SourceState("a").due(NOW)
    assert not SourceState("a", next_check=NOW + timedelta(seconds=1)).due(NOW)
    assert SourceState("a", next_check=NOW).due(NOW)


@pytest.mark.parametrize(
    "interval", [timedelta(days=1000), timedelta(days=5_000_000), timedelta.max]
)
def test_a_very_long_interval_waits_at_most_the_longest_wait_and_never_overflows(interval):
    policy = Policy(interval=interval, max_interval=interval, max_backoff=timedelta(hours=6))
    ok = next_state(SourceState("a"), OK, policy, now=NOW)
    assert ok.next_check == NOW + min(interval, LONGEST_WAIT)
    failing = SourceState("a", consecutive_errors=30)
    failed = next_state(failing, PollResult("server_error", ok=False, status=500), policy, now=NOW)
    assert failed.next_check == NOW + min(interval, LONGEST_WAIT)
    assert backoff(policy, 30) == interval


@pytest.mark.parametrize("hint", [1e15, 1e300])
def test_a_server_hint_longer_than_a_date_can_hold_is_capped_at_max_interval(hint):
    """An RSS ttl or max-age of 10^15 seconds is capped like any other long hint."""
    for r in (PollResult("ok", ok=True, ttl=hint), PollResult("ok", ok=True, max_age=hint)):
        assert next_state(SourceState("a"), r, POLICY, now=NOW).next_check == NOW + timedelta(
            hours=24
        )
