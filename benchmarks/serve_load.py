"""Load on ``qrun serve``: concurrent sessions and stray jobs over loopback HTTP.

The service runs as its own process (``python -m qrun serve --port 0``, system clock, jobs
in worker processes) and logs one JSON line per request, from which the server-side handler
time is read. The sessions are spread over ``--backends`` (default four 5-qubit fake
devices), and each load runs with one worker process (``--workers 1``: one backend computes
at a time) and with one per backend (``--workers 4``), ``--repeats`` times each (a fresh
service every time), to show what parallel backends gain; the summary gives medians.

Two loads, named, each reported on its own, both of one shape (20 dedicated
sessions × 25 jobs, plus 20 stray jobs):

- ``tiny``: one-qubit sampler jobs of 16 shots. A job computes in about 2 ms, less than
  the HTTP requests around it take, so on a 2-core machine this load measures the service
  and its clients, not parallel compute.
- ``compute``: a noisy 5-qubit circuit (four layers of rotations and CNOTs) with 2,000
  shots, some 60 ms of Aer per job, so it shows whether backends compute in parallel.

Clients talk raw HTTP/1.1 with keep-alive (stdlib ``http.client``, far lighter than a full
client library, so the clients' own CPU does not starve the service on a small machine),
as the Runtime client would: each of ``--clients`` threads opens a dedicated session,
submits ``--jobs`` jobs, closes the session and polls every job every 0.1 s (the client's
session poll interval) until it ends, then fetches its result. One more thread submits
``--strays`` single jobs outside any session at once (as a script in job mode does), then
polls each every 0.5 s (the client's interval outside a session). Checks: every job
submitted ends Completed and is listed by the service, no answer is a 5xx, and no other
job starts on a backend while a session holds it.

Throughput is the jobs divided by the time from the first job's creation to the last
job's end, as the service timestamps them; the clients' wall time, which adds up to a
poll interval of waiting to notice the last job, is printed beside it.

Server overhead per job, two readings: the handler time of a job's requests (submit + one
status poll + result, each at p50 / p99, from the request log: arrival to end of answer,
as the server saw it), and the CPU time of the service's own process (not its workers)
over the load divided by the jobs, i.e. what the service spends per job outside the
computation, polls included. Targets: 4 workers ≥ 1.7× the throughput of 1, server
overhead per job p50 < 5 ms.

One worker gives each job's Aer all the CPUs (CPUs ÷ workers threads); ``--omp-threads 1``
holds every job to one thread instead, so both worker counts compare one CPU per job.

Side by side, the ``tiny`` PUBs run one by one on ``qiskit_aer.primitives.SamplerV2`` in
this process (hand-written Qiskit, no service), and the ratio of throughputs is printed.

Bounded: each run stops after ``--deadline`` seconds (default 300) whatever happens, and
the server process is always ended.

    python benchmarks/serve_load.py [--load tiny,compute] [--repeats 3] [--workers 1,4]
        [--clients N] [--jobs N] [--strays N] [--omp-threads N]
        [--backends fake_manila,fake_lima,fake_belem,fake_quito]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from qiskit import QuantumCircuit
from qiskit_aer.primitives import SamplerV2
from qiskit_ibm_runtime import RuntimeEncoder

from qrun.serve.config import DEFAULT_API_KEY, DEFAULT_CONFIG

CRN = DEFAULT_CONFIG.instances[0].crn
BACKENDS = ("fake_manila", "fake_lima", "fake_belem", "fake_quito")
#: The client's poll intervals: in a session, and for a job outside one.
SESSION_POLL = 0.1
STRAY_POLL = 0.5


def tiny_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    return circuit


def compute_circuit() -> QuantumCircuit:
    """Five qubits, four layers of rotations and CNOTs, in the basis and on couplings that
    all four 5-qubit fake devices share (no transpilation needed)."""
    circuit = QuantumCircuit(5)
    for layer in range(4):
        for qubit in range(5):
            circuit.rz(0.3 + 0.1 * qubit + layer, qubit)
            circuit.sx(qubit)
        for control, target in ((0, 1), (1, 2), (3, 4)):
            circuit.cx(control, target)
    circuit.measure_all()
    return circuit


@dataclass(frozen=True)
class Load:
    """A named load: the job every client submits, and how many."""

    name: str
    circuit: QuantumCircuit
    shots: int
    clients: int
    jobs: int
    strays: int

    def params(self) -> str:
        """The job's ``params`` as JSON text, as the client encodes them."""
        return json.dumps(
            {
                "pubs": [(self.circuit, None, self.shots)],
                "options": {},
                "version": 2,
                "support_qiskit": True,
            },
            cls=RuntimeEncoder,
        )


LOADS = {
    "tiny": Load("tiny", tiny_circuit(), 16, clients=20, jobs=25, strays=20),
    "compute": Load("compute", compute_circuit(), 2000, clients=20, jobs=25, strays=20),
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its workers)."""
    found: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    for task in tasks.iterdir() if tasks.is_dir() else ():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Service:
    """``qrun serve`` in a child process; its request log collected from stderr."""

    def __init__(self, backends: list[str], workers: int, omp_threads: int | None = None) -> None:
        self._config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115
        self._config.write(f"backends: [{', '.join(backends)}]\n")
        self._config.close()
        command = [sys.executable, "-m", "qrun", "serve", "--port", "0", "--workers", str(workers)]
        command += ["--config", self._config.name]
        environment = dict(os.environ)
        if omp_threads is not None:  # OpenMP's own cap on the threads of every Aer call
            environment["OMP_NUM_THREADS"] = str(omp_threads)
        self.child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
        )
        assert self.child.stdout is not None and self.child.stderr is not None
        found = re.search(r"on (http://\S+)", self.child.stdout.readline())
        if not found:
            self.stop()
            raise SystemExit("qrun serve did not start")
        self.url = found.group(1)
        self.lines: list[str] = []  # parsed after the run: the clients need the CPU now
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.child.stderr is not None
        for line in self.child.stderr:
            self.lines.append(line)

    def log(self) -> tuple[list[dict[str, object]], list[str]]:
        """The request log lines, and whatever else the service wrote to stderr."""
        log, other = [], []
        for line in self.lines:
            try:
                log.append(json.loads(line))
            except ValueError:
                other.append(line)
        return log, other

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the service's own process, and of its workers together."""
        return cpu_seconds(self.child.pid), sum(map(cpu_seconds, children(self.child.pid)))

    def stop(self) -> None:
        self.child.send_signal(signal.SIGINT)
        try:
            self.child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        reader: threading.Thread | None = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=5)
        Path(self._config.name).unlink(missing_ok=True)


class Client:
    """One authenticated raw HTTP/1.1 client on one keep-alive connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._connection = http.client.HTTPConnection(*self._address, timeout=60)
        form = urlencode(
            {"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": DEFAULT_API_KEY}
        )
        status, answer = self.request(
            "POST", "/identity/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 200:
            raise SystemExit(f"POST /identity/token answered {status}: {answer[:200]!r}")
        token = json.loads(answer)["access_token"]
        self._headers = {"Authorization": f"Bearer {token}", "Service-CRN": CRN}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body); a connection the server closed while idle is opened again."""
        for attempt in (0, 1):
            try:
                self._connection.request(method, path, body, headers or {})
                answer = self._connection.getresponse()
                return answer.status, answer.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._connection.close()
                self._connection = http.client.HTTPConnection(*self._address, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def api(self, method: str, path: str, body: object = None, **query: str) -> tuple[int, bytes]:
        text = None if body is None else body if isinstance(body, str) else json.dumps(body)
        headers = dict(self._headers)
        if text is not None:
            headers["Content-Type"] = "application/json"
        suffix = f"?{urlencode(query)}" if query else ""
        return self.request(method, f"/api/v1{path}{suffix}", text, headers)

    def json(self, method: str, path: str, body: object = None, **query: str) -> dict[str, object]:
        status, answer = self.api(method, path, body, **query)
        if status >= 300:
            raise SystemExit(f"{method} {path} answered {status}: {answer[:300]!r}")
        document: dict[str, object] = json.loads(answer) if answer else {}
        return document

    def submit(self, params: str, backend: str, session_id: str | None) -> tuple[str, float]:
        session = "" if session_id is None else f', "session_id": "{session_id}"'
        body = f'{{"program_id": "sampler", "backend": "{backend}"{session}, "params": {params}}}'
        started = time.perf_counter()
        return str(self.json("POST", "/jobs", body)["id"]), started

    def wait(self, job_id: str, deadline: float, poll: float) -> str:
        while time.perf_counter() < deadline:
            job = self.json("GET", f"/jobs/{job_id}", exclude_params="true")
            status = str(job["state"]["status"])  # type: ignore[index]
            if status in ("Completed", "Failed", "Cancelled"):
                return status
            time.sleep(poll)
        return "timed out"

    def result(self, job_id: str) -> None:
        status, answer = self.api("GET", f"/jobs/{job_id}/results")
        if status != 200:
            raise SystemExit(f"GET /jobs/{job_id}/results answered {status}: {answer[:300]!r}")

    def close(self) -> None:
        self._connection.close()


def session_client(
    url: str, load: Load, backend: str, deadline: float
) -> list[tuple[str, str, float]]:
    """Open a session, submit the load's jobs, close it, wait for each; (id, status, latency)."""
    client = Client(url)
    params = load.params()
    session_id = str(
        client.json("POST", "/sessions", {"backend": backend, "mode": "dedicated"})["id"]
    )
    submitted = [client.submit(params, backend, session_id) for _ in range(load.jobs)]
    client.api("PATCH", f"/sessions/{session_id}", {"accepting_jobs": False})
    done = []
    for job_id, started in submitted:
        status = client.wait(job_id, deadline, SESSION_POLL)
        if status == "Completed":
            client.result(job_id)
        done.append((job_id, status, time.perf_counter() - started))
    client.close()
    return done


def stray_client(
    url: str, load: Load, backends: list[str], deadline: float
) -> list[tuple[str, str, float]]:
    """Single jobs outside any session, spread over the backends: all submitted at once
    (as a script in job mode submits its jobs), then each waited for in turn."""
    client = Client(url)
    params = load.params()
    submitted = [
        client.submit(params, backends[index % len(backends)], None) for index in range(load.strays)
    ]
    done = []
    for job_id, started in submitted:
        status = client.wait(job_id, deadline, STRAY_POLL)
        if status == "Completed":
            client.result(job_id)
        done.append((job_id, status, time.perf_counter() - started))
    client.close()
    return done


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def instant(text: object) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Timeline:
    """One job as the service timestamps it."""

    backend: str
    session: str | None
    created: float
    running: float
    finished: float


def timelines(client: Client, job_ids: list[str]) -> list[Timeline]:
    """Each job's backend, session and timestamps, read back from the service."""
    found = []
    for job_id in job_ids:
        job = client.json("GET", f"/jobs/{job_id}", exclude_params="true")
        times = client.json("GET", f"/jobs/{job_id}/metrics")["timestamps"]
        session = job["session_id"]
        found.append(
            Timeline(
                str(job["backend"]),
                None if session is None else str(session),
                instant(times["created"]),  # type: ignore[index]
                instant(times["running"]),  # type: ignore[index]
                instant(times["finished"]),  # type: ignore[index]
            )
        )
    return found


def priority_violations(jobs: list[Timeline]) -> int:
    """Jobs that started on a backend while another session held it."""
    spans: dict[tuple[str, str], list[Timeline]] = {}
    for job in jobs:
        if job.session is not None:
            spans.setdefault((job.backend, job.session), []).append(job)
    violations = 0
    for (backend, session), held in spans.items():
        first = min(job.running for job in held)
        last = max(job.finished for job in held)
        violations += sum(
            1
            for job in jobs
            if job.backend == backend and job.session != session and first < job.running < last
        )
    return violations


def idle_round_trip(url: str, requests: int = 50) -> float:
    """Milliseconds, p50, from sending one status request to reading its whole answer,
    the service otherwise idle: what every request of a client waits at the least."""
    client = Client(url)
    job_id, _ = client.submit(LOADS["tiny"].params(), BACKENDS[0], None)
    client.wait(job_id, time.perf_counter() + 60, 0.05)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.json("GET", f"/jobs/{job_id}", exclude_params="true")
        times.append((time.perf_counter() - started) * 1000)
    client.close()
    return statistics.median(times)


def hand_written(count: int) -> float:
    """Seconds for the same tiny PUBs run one by one on Aer's SamplerV2, no service."""
    sampler = SamplerV2()
    circuit = tiny_circuit()
    started = time.perf_counter()
    for _ in range(count):
        sampler.run([(circuit, None, LOADS["tiny"].shots)]).result()
    return time.perf_counter() - started


def run_load(
    args: argparse.Namespace, load: Load, backends: list[str], workers: int
) -> dict[str, float]:
    """One run of ``load`` on a fresh service with ``workers`` worker processes; prints it
    and returns its figures."""
    service = Service(backends, workers, args.omp_threads)
    try:
        deadline = time.perf_counter() + args.deadline
        server_before, workers_before = service.cpu()
        started = time.perf_counter()
        with ThreadPoolExecutor(load.clients + 1) as pool:
            futures = [
                pool.submit(
                    session_client, service.url, load, backends[index % len(backends)], deadline
                )
                for index in range(load.clients)
            ]
            futures.append(pool.submit(stray_client, service.url, load, backends, deadline))
            outcomes = [item for future in futures for item in future.result()]
        wall = time.perf_counter() - started
        server_after, workers_after = service.cpu()
        checker = Client(service.url)
        ids = [job_id for job_id, _, _ in outcomes]
        listed = checker.json("GET", "/jobs", limit=str(len(ids) + 10))
        jobs = timelines(checker, ids)
        checker.close()
        round_trip = idle_round_trip(service.url)  # the load over, the service is idle
    finally:
        service.stop()

    total = len(outcomes)
    violations = priority_violations(jobs)
    span = max(job.finished for job in jobs) - min(job.created for job in jobs)
    completed = sum(1 for _, status, _ in outcomes if status == "Completed")
    latencies = [latency for _, _, latency in outcomes]
    log, other = service.log()
    server_errors = [line for line in log if int(str(line["status"])) >= 500]

    def handler_ms(method: str, pattern: str) -> list[float]:
        return [
            float(str(line["duration_ms"]))
            for line in log
            if line["method"] == method and re.fullmatch(pattern, str(line["path"]))
        ]

    submit_ms = handler_ms("POST", r"/api/v1/jobs")
    status_ms = handler_ms("GET", r"/api/v1/jobs/[^/]+")
    result_ms = handler_ms("GET", r"/api/v1/jobs/[^/]+/results")
    per_job = [
        sum(percentile(values, fraction) for values in (submit_ms, status_ms, result_ms))
        for fraction in (0.5, 0.99)
    ]
    server_cpu = (server_after - server_before) * 1000 / max(total, 1)
    worker_cpu = (workers_after - workers_before) * 1000 / max(total, 1)
    print(f"--- load {load.name}, {workers} worker(s), backends {', '.join(backends)}")
    print(
        f"jobs: {total} submitted, {completed} completed, {listed['count']} listed; "
        f"5xx answers: {len(server_errors)}; priority violations: {violations}"
    )
    print(
        f"service: first job created to last finished {span:.2f} s -> {total / span:.1f} jobs/s; "
        f"clients' wall time (their polling included) {wall:.2f} s -> {total / wall:.1f} jobs/s"
    )
    print(f"one request's round trip on the idle service (a status poll): p50 {round_trip:.2f} ms")
    print(
        "submit-to-result latency (client polling included): "
        f"p50 {percentile(latencies, 0.5):.3f} s, p99 {percentile(latencies, 0.99):.3f} s"
    )
    for name, values in (
        ("POST /jobs", submit_ms),
        ("GET /jobs/{id}", status_ms),
        ("GET /jobs/{id}/results", result_ms),
    ):
        print(
            f"server handler {name}: p50 {percentile(values, 0.5):.2f} ms, "
            f"p99 {percentile(values, 0.99):.2f} ms ({len(values)} requests)"
        )
    print(
        f"server overhead per job (submit + one status + result): p50 {per_job[0]:.2f} ms, "
        f"p99 {per_job[1]:.2f} ms; service process CPU {server_cpu:.2f} ms/job "
        f"({len(status_ms) / max(total, 1):.1f} polls/job), workers' CPU {worker_cpu:.2f} ms/job"
    )
    if other:
        print("server said:", "".join(other[-5:]).strip(), file=sys.stderr)
    ok = (
        completed == total == listed["count"]
        and not server_errors
        and violations == 0
        and statistics.median(latencies) > 0
    )
    return {
        "ok": float(ok),
        "rate": total / span,
        "wall_rate": total / wall,
        "total": float(total),
        "p50": per_job[0],
        "p99": per_job[1],
        "cpu": server_cpu,
        "round_trip": round_trip,
    }


def summary(name: str, runs: dict[int, list[dict[str, float]]]) -> None:
    """Medians over the repeats of each worker count, and the targets they meet."""

    def median(count: int, key: str) -> float:
        return statistics.median(run[key] for run in runs[count])

    print(f"=== load {name}: medians over {min(len(found) for found in runs.values())} run(s)")
    print(
        "workers | jobs/s (service) | jobs/s (clients' wall) | overhead p50 ms | "
        "overhead p99 ms | service CPU ms/job"
    )
    for count in sorted(runs):
        print(
            f"{count:7d} | {median(count, 'rate'):16.1f} | {median(count, 'wall_rate'):22.1f} | "
            f"{median(count, 'p50'):15.2f} | {median(count, 'p99'):15.2f} | "
            f"{median(count, 'cpu'):18.2f}"
        )
    if len(runs) > 1:
        fewest, most = min(runs), max(runs)
        speedup = median(most, "rate") / median(fewest, "rate")
        by_wall = median(most, "wall_rate") / median(fewest, "wall_rate")
        verdict = "met" if speedup >= 1.7 else "NOT met"
        print(
            f"throughput with {most} workers / with {fewest}: {speedup:.2f}x as the service "
            f"timestamps jobs (target >= 1.7x: {verdict}); {by_wall:.2f}x by the clients' wall time"
        )
    print(
        "one request's round trip on the idle service, p50: "
        + ", ".join(f"{median(count, 'round_trip'):.2f} ms" for count in sorted(runs))
    )
    worst = max(median(count, "p50") for count in runs)
    print(
        f"server overhead per job p50, worst median: {worst:.2f} ms (target < 5 ms: "
        f"{'met' if worst < 5 else 'NOT met'})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", default="tiny,compute", help=f"loads: {', '.join(LOADS)}")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each worker count")
    parser.add_argument("--clients", type=int, default=None, help="sessions (default: the load's)")
    parser.add_argument("--jobs", type=int, default=None, help="jobs per session")
    parser.add_argument("--strays", type=int, default=None, help="jobs outside sessions")
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--workers", default="1,4", help="worker counts to compare")
    parser.add_argument(
        "--omp-threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS for the service: 1 holds every job's Aer to one thread, so a "
        "lone worker uses one CPU, as each of four does (default: the service's own share)",
    )
    args = parser.parse_args()
    backends = [name for name in args.backends.split(",") if name]
    counts = [int(count) for count in args.workers.split(",")]
    ok = True
    for name in args.load.split(","):
        if name not in LOADS:
            raise SystemExit(f"--load: unknown load {name!r}; expected {', '.join(LOADS)}")
        load = LOADS[name]
        for field in ("clients", "jobs", "strays"):
            if getattr(args, field) is not None:
                load = Load(**{**load.__dict__, field: getattr(args, field)})
        runs: dict[int, list[dict[str, float]]] = {count: [] for count in counts}
        for _ in range(args.repeats):
            for count in counts:  # interleaved, so a slow spell of the machine hits both
                runs[count].append(run_load(args, load, backends, count))
        ok = ok and all(run["ok"] for found in runs.values() for run in found)
        summary(name, runs)
        if name == "tiny":
            total = int(runs[counts[0]][0]["total"])
            baseline = hand_written(total)
            print(
                f"hand-written Aer SamplerV2, same {total} PUBs one by one: {baseline:.2f} s "
                f"-> {total / baseline:.1f} jobs/s"
            )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
