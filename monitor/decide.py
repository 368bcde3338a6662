"""Pure decisions about a source after a poll: its new state and when to check it next.

No I/O and no clock: the poll's result, the old state, the policy and ``now`` go in, the new
state comes out, so every rule here is table-tested.

- Success (200 or 304): errors reset; next check = the interval, stretched by server hints
  (RSS ``ttl``, Cache-Control ``max-age``) up to ``max_interval``.
- 429/503 with Retry-After: not before the server asks (up to ``max_interval``: a server
  asking for a year, or a date out of range, must not silence a source), and never sooner
  than the backoff.
- 410 Gone: the source is retired (logged; an explicit ``poll --source`` still tries it).
- Any other failure: exponential backoff from the interval, capped at ``max_backoff`` but never
  below the interval; polling never stops for good.
- Jitter (±10 %) spreads sources that share an interval so they do not hit hosts in step.
- No wait is longer than ``LONGEST_WAIT`` (before jitter), whatever the policy or the server
  says: the arithmetic saturates instead of overflowing, so no value can break a poll.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

JITTER = 0.10
LONGEST_WAIT = timedelta(days=3650)  # far beyond any configured interval (a year at most)


@dataclass(frozen=True)
class SourceState:
    name: str
    config_url: str | None = None  # the URL (a dir source: the path) the config gave
    url: str | None = None  # where to fetch now (a permanent redirect moves it)
    etag: str | None = None
    last_modified: str | None = None
    next_check: datetime | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    consecutive_errors: int = 0
    last_outcome: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    retired_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.retired_at is None and (self.next_check is None or self.next_check <= now)


@dataclass(frozen=True)
class Policy:
    interval: timedelta  # at most max_interval (the config refuses a longer one)
    max_interval: timedelta = timedelta(hours=24)
    max_backoff: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class PollResult:
    """What one poll learned, reduced to what the decision needs."""

    outcome: str  # fetch.Outcome value, "parse_error", or "pages_failed" (a mirror)
    ok: bool
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    ttl: float | None = None  # seconds, from the feed itself
    moved_to: str | None = None  # a permanent redirect's target
    gone: bool = False


def backoff(policy: Policy, errors: int) -> timedelta:
    """The wait after ``errors`` consecutive failures: 2×, 4×, 8× the interval, capped."""
    factor = 2 ** min(errors, 20)
    if policy.interval >= policy.max_backoff / factor:  # so the product cannot overflow
        return max(policy.interval, policy.max_backoff)
    return policy.interval * factor


def _seconds(seconds: float) -> timedelta:
    """A server's hint in seconds, as a wait no longer than ``LONGEST_WAIT``."""
    return timedelta(seconds=min(seconds, LONGEST_WAIT.total_seconds()))


def jittered(delay: timedelta, rand: float) -> timedelta:
    """``rand`` in [0, 1) from the caller, so tests choose it; ``delay`` is capped first."""
    return min(delay, LONGEST_WAIT) * (1 + JITTER * (2 * rand - 1))


def next_state(
    state: SourceState, result: PollResult, policy: Policy, *, now: datetime, rand: float = 0.5
) -> SourceState:
    s = replace(
        state,
        last_attempt=now,
        last_outcome=result.outcome,
        last_status=result.status,
    )
    if result.moved_to:
        s = replace(s, url=result.moved_to)
    if result.gone:
        return replace(
            s,
            consecutive_errors=s.consecutive_errors + 1,
            last_error=result.error,
            retired_at=now,
            next_check=None,
        )
    if result.ok:
        hint = max(result.ttl or 0, result.max_age or 0)
        delay = min(max(policy.interval, _seconds(hint)), policy.max_interval)
        return replace(
            s,
            # A 304 carries no new validators; keep the ones we have.
            etag=result.etag or s.etag,
            last_modified=result.last_modified or s.last_modified,
            last_success=now,
            consecutive_errors=0,
            last_error=None,
            retired_at=None,
            next_check=now + jittered(delay, rand),
        )
    errors = s.consecutive_errors + 1
    delay = jittered(backoff(policy, errors), rand)
    if result.retry_after:
        longest = max(policy.max_interval, policy.max_backoff)
        delay = max(delay, min(_seconds(result.retry_after), longest))
    return replace(
        s,
        consecutive_errors=errors,
        last_error=result.error,
        retired_at=None,
        next_check=now + delay,
    )
