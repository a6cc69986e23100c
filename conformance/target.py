"""What the conformance steps drive: the ``Target`` protocol.

A target is one way of reaching a session service: qrun's own engine on a virtual clock,
the Qiskit client's local testing mode, or a Runtime service over HTTP. Steps speak only
to this protocol, so a new target plugs in without touching them.

Sessions and jobs are named by opaque references (strings the target hands out). A
target states what it can do in ``capabilities``; a scenario tagged with a capability the
target lacks is skipped with that reason, and such a method may then raise
:class:`Unsupported`.

A target that needs settings (a URL, an instance) takes them as *target options*: text
``KEY=VALUE`` pairs given as ``qrun conformance --target-option KEY=VALUE`` or
``pytest --qrun-target-option KEY=VALUE``. Such a target class has a class method
``configure(options)`` (:class:`Configurable`) that checks them once per run and returns a
:class:`TargetFactory`: the capabilities it found and a callable that builds one target
per scenario. A class without ``configure`` takes no options and is its own factory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

__all__ = [
    "Configurable",
    "JobCancelled",
    "JobFailed",
    "JobState",
    "Rejected",
    "Target",
    "TargetError",
    "TargetFactory",
    "Unsupported",
]

#: The job states a target reports, spelled as ``RuntimeJobV2.status()`` spells them.
JobState = Literal["QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED"]


class TargetError(Exception):
    """Base of the errors a target raises on purpose."""


class Rejected(TargetError):
    """The service refused an action, as a user of the client would see it refused.

    ``str(error)`` is the service's own message.
    """


class Unsupported(TargetError):
    """The target cannot do this at all (a capability it does not declare)."""


class JobFailed(TargetError):
    """A job ended in error; the message is the service's reason."""


class JobCancelled(TargetError):
    """A job was cancelled before it produced a result."""


class Target(Protocol):
    """A session service as the conformance steps see it.

    One target object serves one scenario; ``teardown()`` is called when it ends.
    """

    #: Names from :data:`qrun.conformance.capabilities.CAPABILITIES` this target provides.
    capabilities: frozenset[str]

    def use_instance(
        self,
        *,
        plan: str = "premium",
        interactive_ttl: float | None = None,
        max_ttl: float | None = None,
    ) -> None:
        """Act from now on as a user of an instance with this plan and these limits.

        Needs the ``plans`` capability. ``None`` keeps the plan's default limit.
        """

    def open_session(
        self,
        backend: str | None,
        *,
        mode: Literal["session", "batch"] = "session",
        max_time: float | str | None = None,
        block: bool = False,
    ) -> str:
        """Open a session (or batch) and return its reference.

        ``block=True`` opens it the way ``with Session(...) as session:`` does; the block
        stays open until :meth:`leave_block`. Raises :class:`Rejected` when the service
        refuses (no backend, a plan without sessions, …).
        """

    def leave_block(self, session: str) -> None:
        """Leave the ``with`` block that opened ``session``."""

    def submit(
        self,
        session: str | None,
        *,
        backend: str | None = None,
        duration: float | None = None,
        tags: Sequence[str] = (),
        user: str | None = None,
    ) -> str:
        """Submit a small job and return its reference.

        ``session=None`` submits in job mode to ``backend``. ``duration`` asks for a job
        that keeps the QPU that many seconds (``job-duration`` capability); ``user``
        submits as another user of the same backend (``multi-user``). Raises
        :class:`Rejected` when the service refuses the job.
        """

    def close(self, session: str) -> None:
        """``Session.close()``."""

    def cancel(self, session: str) -> None:
        """``Session.cancel()``."""

    def status(self, session: str) -> str | None:
        """``Session.status()``, exactly as the service reports it."""

    def details(self, session: str) -> Mapping[str, object] | None:
        """``Session.details()``, exactly as the service reports it."""

    def job_status(self, job: str) -> JobState:
        """The job's state now, without waiting."""

    def job_result(self, job: str) -> object:
        """Wait for the job to end and return its result.

        Raises :class:`JobFailed` or :class:`JobCancelled` when it has none.
        """

    def session_jobs(self, session: str) -> list[str]:
        """The jobs the service lists for ``session`` (``job-list`` capability)."""

    def jobs_by_tag(self, tag: str) -> list[str]:
        """The jobs the service lists for a job tag (``job-list`` capability)."""

    def now(self) -> datetime:
        """The service's current time (timezone-aware)."""

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of service time pass (``virtual-clock`` capability)."""

    def teardown(self) -> None:
        """Release everything the scenario used."""


class TargetFactory(Protocol):
    """Builds one target per scenario; knows before any is built what they can do."""

    @property
    def capabilities(self) -> frozenset[str]: ...

    def __call__(self) -> Target: ...


class Configurable(Protocol):
    """A target class that takes target options (see the module docstring)."""

    capabilities: frozenset[str]

    @classmethod
    def configure(
        cls, options: Mapping[str, str], *, cleanup: Callable[[Callable[[], None]], None]
    ) -> TargetFactory:
        """Check ``options`` and prepare what every scenario shares.

        ``cleanup`` registers a callable to run once the whole run has ended (to stop a
        server the factory started, say). Raises :class:`qrun.errors.UsageError` for an
        unknown option or a value that cannot work.
        """
        ...
