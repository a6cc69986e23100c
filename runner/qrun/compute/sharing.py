"""Circuits and observables sent to Ray once, and read once per worker process.

A sweep's jobs, or an optimiser's, mostly share their circuits and observables arrays (only
parameter values change), and the local simulation caches what it derives from a circuit
by the circuit object's identity. So a job's work is pickled with each such object
replaced by a key: the driver puts the object into Ray's object store the first time it
meets it (:class:`SharedObjects`), and the task is handed the object references nested
in a mapping, which Ray does not resolve by itself. A worker process reads an object from
the store only the first time it sees its key (:func:`decode`) and keeps it, so its later
jobs find the very same object, and the simulation's caches of reductions, noise models
and simulators hit. Noise models and simulators are never sent: each worker builds them
once from the backend's name and keeps them.

Both sides keep at most :data:`MAX_SHARED` objects, least recently used first out; the
driver's references keep an object in the store while it may still be asked for.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, TypeVar

from qrun.engine.workers import SharingPickler, SharingUnpickler

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from qrun.engine.work import Work

__all__ = ["MAX_SHARED", "SharedObjects", "decode"]

Reference = TypeVar("Reference")

#: Shared objects kept by the driver and by each worker.
MAX_SHARED = 256


class SharedObjects:
    """The driver's side: shared objects put into the store once, by identity."""

    def __init__(self, put: Callable[[object], object]) -> None:
        self._put = put  # ray.put
        self._lock = threading.Lock()
        # id(object) -> (object kept alive so the id is not reused, its key, its reference)
        self._known: OrderedDict[int, tuple[object, str, object]] = OrderedDict()

    def encode(self, work: Work) -> tuple[bytes, dict[str, object]]:
        """The work's payload and the object references it names, by key."""
        named: dict[str, object] = {}

        def key_of(obj: object) -> str:
            with self._lock:
                entry = self._known.get(id(obj))
                if entry is None or entry[0] is not obj:
                    reference = self._put(obj)
                    entry = (obj, reference.hex(), reference)  # type: ignore[attr-defined]
                    self._known[id(obj)] = entry
                    while len(self._known) > MAX_SHARED:
                        self._known.popitem(last=False)
                else:
                    self._known.move_to_end(id(obj))
            named[entry[1]] = entry[2]
            return entry[1]

        buffer = io.BytesIO()
        SharingPickler(buffer, key_of).dump(work)
        return buffer.getvalue(), named


_worker_lock = threading.Lock()
_worker_known: OrderedDict[str, object] = OrderedDict()


def decode(
    payload: bytes,
    references: Mapping[str, Reference],
    get: Callable[[list[Reference]], list[object]],
) -> Work:
    """In a worker: the work, its shared objects read from the store (``get`` is
    ``ray.get``) only the first time this process meets them."""
    with _worker_lock:
        missing = [key for key in references if key not in _worker_known]
        for key in references:
            if key in _worker_known:
                _worker_known.move_to_end(key)
    if missing:
        found = get([references[key] for key in missing])
        with _worker_lock:
            for key, obj in zip(missing, found, strict=True):
                _worker_known.setdefault(key, obj)
            while len(_worker_known) > MAX_SHARED:
                _worker_known.popitem(last=False)
    with _worker_lock:
        known = {key: _worker_known[key] for key in references if key in _worker_known}
    if len(known) < len(references):  # evicted meanwhile by a flood of others: read again
        absent = [key for key in references if key not in known]
        known.update(zip(absent, get([references[key] for key in absent]), strict=True))
    work: Work = SharingUnpickler(io.BytesIO(payload), known).load()
    return work
