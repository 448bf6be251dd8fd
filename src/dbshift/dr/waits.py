"""Polling with a deadline, for steps whose result AWS reports later (snapshot copies, restores)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from dbshift.errors import DbshiftError

T = TypeVar("T")


class WaitTimeout(DbshiftError):
    """A resource did not reach the wanted state in time; it may still get there (AWS keeps working)."""


class ResourceFailed(DbshiftError):
    """A resource reached a state it does not leave by itself (failed, incompatible-…)."""


def wait_until(
    describe: Callable[[], T],
    done: Callable[[T], bool],
    failed: Callable[[T], str | None],
    what: str,
    timeout: float,
    poll: float,
    state: Callable[[T], str] | None = None,
) -> T:
    """Call `describe` every `poll` seconds until `done` holds; the last description.

    `failed` returns a message when the resource cannot get there any more → ResourceFailed naming
    `what` and that message. Past `timeout` seconds → WaitTimeout naming `what` and its last state
    (from `state`), so the user knows which resource to look at and that a rerun resumes the wait.
    """
    if timeout < 0 or poll <= 0:
        raise DbshiftError(f"waiting for {what}: timeout must be >= 0 and poll > 0 (got {timeout}, {poll})")
    deadline = time.monotonic() + timeout
    while True:
        last = describe()
        if done(last):
            return last
        problem = failed(last)
        if problem:
            raise ResourceFailed(f"{what} is {problem}")
        if time.monotonic() >= deadline:
            current = state(last) if state else str(last)
            raise WaitTimeout(
                f"{what} is still {current!r} after {timeout:g} s: raise the wait timeout, or run again later "
                "(the next run finds the same resource and waits for it again)"
            )
        time.sleep(max(0.0, min(poll, deadline - time.monotonic())))
