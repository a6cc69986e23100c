"""Step definitions: each step turns one Gherkin line into calls on a ``Target``.

Steps hold no lifecycle knowledge. A ``Given``/``When`` calls the target and hands what
it returned to later steps through ``target_fixture``; a ``Then`` reads what a user of
the service could observe (status, details, job states, results, listings) and compares
it with the feature's words.

This module is a pytest plugin; the suite module loads it through ``pytest_plugins``, so
its fixtures exist only where the conformance suite is collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from pytest_bdd import given, parsers, then, when

from qrun.manifest.duration import parse_duration

from .target import JobCancelled, JobFailed, Rejected, Target, Unsupported

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from .target import JobState

__all__ = [
    "DOCUMENTED_DETAIL_KEYS",
    "DOCUMENTED_STATUSES",
    "Attempt",
    "Jobs",
    "OpenedSession",
    "seconds",
]

#: The four strings ``Session.status()`` may answer (rule STAT-1).
DOCUMENTED_STATUSES = (
    "Pending",
    "In progress, accepting new jobs",
    "In progress, not accepting new jobs",
    "Closed",
)

#: The keys ``Session.details()`` documents (rule STAT-2).
DOCUMENTED_DETAIL_KEYS = (
    "id",
    "backend_name",
    "interactive_timeout",
    "max_time",
    "active_timeout",
    "state",
    "accepting_jobs",
    "last_job_started",
    "last_job_completed",
    "started_at",
    "closed_at",
    "activated_at",
    "mode",
    "usage_time",
    "timestamps",
)

_JOB_STATES: dict[str, JobState] = {
    "queued": "QUEUED",
    "running": "RUNNING",
    "done": "DONE",
    "failed": "ERROR",
    "cancelled": "CANCELLED",
}

_SPOKEN = re.compile(r"(\d+(?:\.\d+)?)\s+(second|minute|hour)s?")
_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


@dataclass(frozen=True)
class OpenedSession:
    """A session a step opened, and the service time at which it was opened."""

    ref: str
    opened_at: datetime


@dataclass
class Jobs:
    """Jobs submitted so far in a scenario, by the feature's label."""

    refs: dict[str, str] = field(default_factory=dict)
    #: labels of the jobs submitted to the scenario's session, in order
    mine: list[str] = field(default_factory=list)

    def __getitem__(self, label: str) -> str:
        return self.refs[label]

    def add(self, label: str, ref: str, *, mine: bool) -> None:
        self.refs[label] = ref
        if mine:
            self.mine.append(label)


@dataclass(frozen=True)
class Attempt:
    """The outcome of an action that the service may refuse."""

    error: Rejected | None


def seconds(text: str) -> float:
    """Seconds in ``"10 minutes"``, ``"1 hour and 30 seconds"``, ``"25m"`` or ``1500``."""
    spoken = _SPOKEN.findall(text)
    if spoken:
        return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in spoken)
    return parse_duration(_max_time(text))


def _max_time(text: str) -> float | str:
    """``1500`` -> 1500.0, ``"25m"`` (quoted) -> ``"25m"``: what a user passes as max_time."""
    stripped = text.strip()
    if stripped.startswith('"') and stripped.endswith('"'):
        return stripped[1:-1]
    return float(stripped)


def _expected_value(text: str) -> object:
    """A detail value as a feature writes it: ``true``, ``60``, ``"batch"``, ``empty``."""
    stripped = text.strip()
    words: dict[str, object] = {"true": True, "false": False, "empty": None}
    if stripped in words:
        return words[stripped]
    if stripped.startswith('"') and stripped.endswith('"'):
        return stripped[1:-1]
    return float(stripped)


def _details(target: Target, session: OpenedSession) -> Mapping[str, object]:
    details: Mapping[str, object] | None = target.details(session.ref)
    assert details is not None, "the service reported no details() for the session"
    return details


def _timestamp(value: object) -> datetime:
    assert isinstance(value, str), f"expected an ISO-8601 timestamp, got {value!r}"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """A fresh target for one scenario, torn down when it ends."""
    from .plugin import target_factory

    instance = target_factory(request.config)()
    try:
        yield instance
    finally:
        instance.teardown()


@pytest.fixture
def jobs() -> Jobs:
    """Jobs submitted so far in the scenario."""
    return Jobs()


# --- Given -----------------------------------------------------------------------------


@given(
    parsers.re(r"a session on backend (?P<backend>\S+)(?: with max_time (?P<max_time>.+))?"),
    target_fixture="session",
)
def _(target: Target, backend: str, max_time: str | None) -> OpenedSession:
    opened_at = target.now()
    limit = None if max_time is None else _max_time(max_time)
    return OpenedSession(target.open_session(backend, max_time=limit), opened_at)


@given(parsers.parse("a batch on backend {backend}"), target_fixture="session")
def _(target: Target, backend: str) -> OpenedSession:
    opened_at = target.now()
    return OpenedSession(target.open_session(backend, mode="batch"), opened_at)


@given(
    parsers.parse("a session opened by a with-block on backend {backend}"), target_fixture="session"
)
def _(target: Target, backend: str) -> OpenedSession:
    opened_at = target.now()
    return OpenedSession(target.open_session(backend, block=True), opened_at)


def _use_instance(switch: Callable[[], None]) -> None:
    """Switch instances; a service that has no such instance skips the scenario, saying so."""
    try:
        switch()
    except Unsupported as error:
        pytest.skip(f"the service offers no such instance: {error}")


@given(parsers.parse("my instance is on the {plan} plan"))
def _(target: Target, plan: str) -> None:
    _use_instance(lambda: target.use_instance(plan=plan))


@given(parsers.parse("my instance's interactive TTL is {amount}"))
def _(target: Target, amount: str) -> None:
    _use_instance(lambda: target.use_instance(interactive_ttl=seconds(amount)))


@given(parsers.parse("another user's job {label} of {amount} is running on backend {backend}"))
def _(target: Target, jobs: Jobs, label: str, amount: str, backend: str) -> None:
    jobs.add(
        label,
        target.submit(None, backend=backend, duration=seconds(amount), user="another"),
        mine=False,
    )
    assert target.job_status(jobs[label]) == "RUNNING", "the other user's job did not start"


# --- When ------------------------------------------------------------------------------


@when("I try to open a session without a backend", target_fixture="attempt")
def _(target: Target) -> Attempt:
    try:
        target.open_session(None)
    except Rejected as error:
        return Attempt(error)
    return Attempt(None)


@when(parsers.parse("I try to open a session on backend {backend}"), target_fixture="attempt")
def _(target: Target, backend: str) -> Attempt:
    try:
        target.open_session(backend)
    except Rejected as error:
        return Attempt(error)
    return Attempt(None)


@when(
    parsers.re(
        r"I submit job (?P<label>\S+)(?: of (?P<amount>.+?))?"
        r'(?: tagged "(?P<tag>[^"]+)")? to the session'
    )
)
def _(
    target: Target,
    session: OpenedSession,
    jobs: Jobs,
    *,
    label: str,
    amount: str | None,
    tag: str | None,
) -> None:
    duration = None if amount is None else seconds(amount)
    tags = () if tag is None else (tag,)
    jobs.add(label, target.submit(session.ref, duration=duration, tags=tags), mine=True)


@when(parsers.parse("I try to submit job {label} to the session"), target_fixture="attempt")
def _(target: Target, session: OpenedSession, jobs: Jobs, label: str) -> Attempt:
    try:
        jobs.add(label, target.submit(session.ref), mine=True)
    except Rejected as error:
        return Attempt(error)
    return Attempt(None)


@when(parsers.parse("I submit job {label} in job mode to backend {backend}"))
def _(target: Target, jobs: Jobs, label: str, backend: str) -> None:
    jobs.add(label, target.submit(None, backend=backend), mine=True)


@when(parsers.parse("another user submits job {label} of {amount} to backend {backend}"))
def _(target: Target, jobs: Jobs, label: str, amount: str, backend: str) -> None:
    ref = target.submit(None, backend=backend, duration=seconds(amount), user="another")
    jobs.add(label, ref, mine=False)


@when("I close the session")
def _(target: Target, session: OpenedSession) -> None:
    target.close(session.ref)


@when("I cancel the session")
def _(target: Target, session: OpenedSession) -> None:
    target.cancel(session.ref)


@when("the with-block ends")
def _(target: Target, session: OpenedSession) -> None:
    target.leave_block(session.ref)


@when(parsers.re(r"(?P<amount>\d.*) pass(?:es)?"))
def _(target: Target, amount: str) -> None:
    target.advance(seconds(amount))


@when(
    parsers.re(
        r"I run (?P<count>\d+) iterations(?: of (?P<amount>.+?))?, each waiting for its result"
        r"(?: and pausing (?P<pause>.+?))? before the next"
    )
)
def _(
    target: Target,
    session: OpenedSession,
    jobs: Jobs,
    *,
    count: str,
    amount: str | None,
    pause: str | None,
) -> None:
    duration = None if amount is None else seconds(amount)
    if jobs.mine:
        target.job_result(jobs[jobs.mine[-1]])
    for index in range(1, int(count) + 1):
        if pause is not None and jobs.mine:
            target.advance(seconds(pause))
        label = f"iteration-{index}"
        jobs.add(label, target.submit(session.ref, duration=duration), mine=True)
        target.job_result(jobs[label])


# --- Then ------------------------------------------------------------------------------


@then(parsers.parse('the session status is "{status}"'))
def _(target: Target, session: OpenedSession, status: str) -> None:
    assert target.status(session.ref) == status


@then("the session status is one of the documented statuses")
def _(target: Target, session: OpenedSession) -> None:
    assert target.status(session.ref) in DOCUMENTED_STATUSES


@then("the attempt is rejected")
def _(attempt: Attempt) -> None:
    assert attempt.error is not None, "the service accepted it"


@then("the attempt is rejected with a message naming the plan")
def _(attempt: Attempt) -> None:
    assert attempt.error is not None, "the service accepted it"
    assert "plan" in str(attempt.error).lower(), f"the message does not say why: {attempt.error}"


@then("the attempt succeeds")
def _(attempt: Attempt) -> None:
    assert attempt.error is None, f"the service refused: {attempt.error}"


@then(parsers.re(r"job (?P<label>\S+) is (?P<state>queued|running|done|failed|cancelled)"))
def _(target: Target, jobs: Jobs, label: str, state: str) -> None:
    assert target.job_status(jobs[label]) == _JOB_STATES[state]


@then(parsers.parse("job {label} has a result"))
def _(target: Target, jobs: Jobs, label: str) -> None:
    assert target.job_result(jobs[label]) is not None


@then(parsers.re(r"job (?P<label>\S+) has no result because it (?P<why>failed|was cancelled)"))
def _(target: Target, jobs: Jobs, label: str, why: str) -> None:
    expected: type[Exception] = JobFailed if why == "failed" else JobCancelled
    with pytest.raises(expected):
        target.job_result(jobs[label])


@then("each of my jobs has a result")
def _(target: Target, jobs: Jobs) -> None:
    missing = [label for label in jobs.mine if target.job_result(jobs[label]) is None]
    assert not missing, f"no result for {missing}"


@then("the session has not started")
def _(target: Target, session: OpenedSession) -> None:
    assert _details(target, session).get("started_at") is None


@then(parsers.parse("the session started {amount} after it was opened"))
def _(target: Target, session: OpenedSession, amount: str) -> None:
    started = _timestamp(_details(target, session).get("started_at"))
    elapsed = (started - session.opened_at).total_seconds()
    assert elapsed == pytest.approx(seconds(amount), abs=1.0)


@then("the session details have every documented key")
def _(target: Target, session: OpenedSession) -> None:
    details = _details(target, session)
    missing = [key for key in DOCUMENTED_DETAIL_KEYS if key not in details]
    assert not missing, f"details() lacks {missing}"


@then(parsers.re(r"the session details report (?P<key>\w+) as set"))
def _(target: Target, session: OpenedSession, key: str) -> None:
    _timestamp(_details(target, session).get(key))


@then(parsers.re(r"the session details report (?P<key>\w+) as (?P<value>(?!set$).+)"))
def _(target: Target, session: OpenedSession, key: str, value: str) -> None:
    actual = _details(target, session).get(key)
    expected = _expected_value(value)
    if isinstance(expected, float):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), actual
        assert actual == pytest.approx(expected)
    else:
        assert actual == expected


@then(parsers.parse("the session has {count:d} job"))
@then(parsers.parse("the session has {count:d} jobs"))
def _(target: Target, session: OpenedSession, count: int) -> None:
    assert len(target.session_jobs(session.ref)) == count


@then(parsers.parse('the jobs tagged "{tag}" are {labels}'))
def _(target: Target, jobs: Jobs, tag: str, labels: str) -> None:
    wanted = {jobs[label.strip()] for label in re.split(r",|\band\b", labels) if label.strip()}
    assert set(target.jobs_by_tag(tag)) == wanted
