"""Where a run's or a service's jobs compute: ``local``, ``processes`` or ``ray[=ADDRESS]``.

The lifecycle engine decides *when* each job runs; this choice decides *where*. It is an
option of the command (``--compute``) or of the service's configuration (``compute:``),
never part of a manifest: the same experiment gives the same results wherever it computes.

* ``local`` — Aer on threads of this process (the default);
* ``processes`` — Aer in worker processes of this machine;
* ``ray`` — Aer in Ray tasks: on a Ray head started for the command's duration on this
  machine, or, with ``ray=ADDRESS``, on the existing cluster ``ray.init(address=…)``
  reaches (``HOST:6379``, or ``ray://HOST:10001`` through Ray Client).
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "KINDS",
    "Compute",
    "ComputeKind",
    "add_compute_option",
    "parse_compute",
    "shared_compute",
    "usable_cpus",
]

ComputeKind = Literal["local", "processes", "ray"]
KINDS: tuple[ComputeKind, ...] = get_args(ComputeKind)


@dataclass(frozen=True)
class Compute:
    """Where jobs compute; ``address`` only for ``ray`` (None: a head of its own)."""

    kind: ComputeKind
    address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown compute {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.address is not None and self.kind != "ray":
            raise ValueError(f"compute {self.kind!r} takes no address (only ray=ADDRESS does)")

    def __str__(self) -> str:
        return self.kind if self.address is None else f"{self.kind}={self.address}"


def parse_compute(text: str) -> Compute:
    """``local``, ``processes``, ``ray`` or ``ray=ADDRESS``; a ValueError says what is
    accepted."""
    kind, equals, address = text.strip().partition("=")
    accepted = "expected local, processes, ray or ray=ADDRESS (such as ray=HOST:6379)"
    if kind not in KINDS:
        raise ValueError(f"unknown compute {text!r}: {accepted}")
    if equals and kind != "ray":
        raise ValueError(f"compute {kind!r} takes no address: {accepted}")
    if equals and not address.strip():
        raise ValueError(f"compute {text!r} names no address: {accepted}")
    if equals and any(character.isspace() for character in address.strip()):
        raise ValueError(f"compute address {address!r} holds white space: {accepted}")
    return Compute(kind, address.strip() if equals else None)


def _argument(text: str) -> Compute:
    try:
        return parse_compute(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_compute_option(
    parser: argparse.ArgumentParser, *, default: Compute | None = Compute("local")
) -> None:
    """``--compute local|processes|ray[=ADDRESS]`` (default ``local``; None: not given,
    for a command whose configuration has its own) as ``args.compute``."""
    parser.add_argument(
        "--compute",
        type=_argument,
        default=default,
        metavar="local|processes|ray[=ADDRESS]",
        help=(
            "where jobs compute: threads of this process, worker processes, or Ray tasks "
            "on a local Ray head or the cluster at ADDRESS (needs the ray extra); "
            f"default: {default or 'the configuration'}"
        ),
    )


@contextmanager
def shared_compute(compute: Compute) -> Iterator[Compute]:
    """For ray without an address: start one local Ray head for the duration (loopback,
    dashboard off, CPUs = this machine's) and yield Compute("ray", its address), so
    several qrun processes share it; anything else is yielded unchanged."""
    if compute.kind != "ray" or compute.address is not None:
        yield compute
        return
    from qrun.compute.cluster import local_head

    with local_head() as address:
        yield Compute("ray", address)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it, else
    the machine's), at least one."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
