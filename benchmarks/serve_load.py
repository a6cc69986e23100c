"""Load on ``qrun serve``: concurrent sessions and stray jobs over loopback HTTP.

The service runs as its own process (``python -m qrun serve --port 0``, system clock, jobs
in worker processes) and logs one JSON line per request, from which the server-side handler
time is read. The sessions are spread over ``--backends`` (default four 5-qubit fake
devices), and the whole load runs twice: with one worker process (``--workers 1``: one
backend computes at a time) and with one per backend (``--workers 4``), to show what
parallel backends gain. Clients talk raw HTTP (httpx), as the Runtime client would: each of
``--clients`` threads opens a dedicated session, submits ``--jobs`` tiny sampler jobs,
closes the session and polls every job every 0.1 s (the client's session poll interval)
until it ends, then fetches its result. One more thread submits ``--strays`` single jobs
meanwhile. Checks: every job submitted ends Completed and is listed by the service, no
answer is a 5xx, and no other job starts on a backend while a session holds it. Targets:
4 workers ≥ 1.7× the throughput of 1, server overhead per job p50 < 5 ms.

Side by side, the same PUBs run one by one on ``qiskit_aer.primitives.SamplerV2`` in this
process (hand-written Qiskit, no service), and the ratio of throughputs is printed.

Bounded: everything stops after ``--deadline`` seconds (default 300) whatever happens, and
the server process is always ended.

    python benchmarks/serve_load.py [--clients 20] [--jobs 25] [--strays 20]
        [--backends fake_manila,fake_lima,fake_belem,fake_quito] [--workers 1,4]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
from qiskit import QuantumCircuit
from qiskit_aer.primitives import SamplerV2
from qiskit_ibm_runtime import RuntimeEncoder

from qrun.serve.config import DEFAULT_API_KEY, DEFAULT_CONFIG

CRN = DEFAULT_CONFIG.instances[0].crn
BACKENDS = ("fake_manila", "fake_lima", "fake_belem", "fake_quito")
SHOTS = 16
POLL = 0.1


def tiny_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    return circuit


PARAMS = json.loads(
    json.dumps(
        {
            "pubs": [(tiny_circuit(), None, SHOTS)],
            "options": {},
            "version": 2,
            "support_qiskit": True,
        },
        cls=RuntimeEncoder,
    )
)


class Service:
    """``qrun serve`` in a child process; its request log collected from stderr."""

    def __init__(self, backends: list[str], workers: int) -> None:
        self._config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115
        self._config.write(f"backends: [{', '.join(backends)}]\n")
        self._config.close()
        command = [sys.executable, "-m", "qrun", "serve", "--port", "0", "--workers", str(workers)]
        command += ["--config", self._config.name]
        self.child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.child.stdout is not None and self.child.stderr is not None
        found = re.search(r"on (http://\S+)", self.child.stdout.readline())
        if not found:
            self.stop()
            raise SystemExit("qrun serve did not start")
        self.url = found.group(1)
        self.log: list[dict[str, object]] = []
        self.other: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.child.stderr is not None
        for line in self.child.stderr:
            try:
                self.log.append(json.loads(line))
            except ValueError:
                self.other.append(line)

    def stop(self) -> None:
        self.child.send_signal(signal.SIGINT)
        try:
            self.child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        Path(self._config.name).unlink(missing_ok=True)


class Client:
    """One authenticated raw HTTP client."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url + "/api/v1", timeout=60)
        token = httpx.post(
            f"{url}/identity/token",
            data={
                "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                "apikey": DEFAULT_API_KEY,
            },
        ).json()["access_token"]
        self.http.headers.update({"Authorization": f"Bearer {token}", "Service-CRN": CRN})

    def submit(self, backend: str, session_id: str | None) -> tuple[str, float]:
        body: dict[str, object] = {"program_id": "sampler", "backend": backend, "params": PARAMS}
        if session_id is not None:
            body["session_id"] = session_id
        started = time.perf_counter()
        answer = self.http.post("/jobs", json=body)
        if answer.is_error:
            raise SystemExit(f"POST /jobs answered {answer.status_code}: {answer.text}")
        return str(answer.json()["id"]), started

    def wait(self, job_id: str, deadline: float) -> str:
        while time.perf_counter() < deadline:
            answer = self.http.get(f"/jobs/{job_id}", params={"exclude_params": "true"})
            answer.raise_for_status()
            status = str(answer.json()["state"]["status"])
            if status in ("Completed", "Failed", "Cancelled"):
                return status
            time.sleep(POLL)
        return "timed out"

    def result(self, job_id: str) -> None:
        self.http.get(f"/jobs/{job_id}/results").raise_for_status()


def session_client(
    url: str, backend: str, jobs: int, deadline: float
) -> list[tuple[str, str, float]]:
    """Open a session, submit ``jobs``, close it, wait for each; (id, status, latency)."""
    client = Client(url)
    answer = client.http.post("/sessions", json={"backend": backend, "mode": "dedicated"})
    answer.raise_for_status()
    session_id = answer.json()["id"]
    submitted = [client.submit(backend, session_id) for _ in range(jobs)]
    client.http.patch(f"/sessions/{session_id}", json={"accepting_jobs": False})
    done = []
    for job_id, started in submitted:
        status = client.wait(job_id, deadline)
        if status == "Completed":
            client.result(job_id)
        done.append((job_id, status, time.perf_counter() - started))
    client.http.close()
    return done


def stray_client(
    url: str, backends: list[str], jobs: int, deadline: float
) -> list[tuple[str, str, float]]:
    """Single jobs outside any session, spread over the run and the backends."""
    client = Client(url)
    done = []
    for index in range(jobs):
        job_id, started = client.submit(backends[index % len(backends)], None)
        status = client.wait(job_id, deadline)
        if status == "Completed":
            client.result(job_id)
        done.append((job_id, status, time.perf_counter() - started))
    client.http.close()
    return done


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def instant(text: object) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def priority_violations(client: Client, job_ids: list[str]) -> int:
    """Jobs that started on a backend while another session held it."""
    spans: dict[tuple[str, str | None], list[tuple[float, float]]] = {}
    starts: list[tuple[float, str, str | None]] = []
    for job_id in job_ids:
        job = client.http.get(f"/jobs/{job_id}", params={"exclude_params": "true"}).json()
        times = client.http.get(f"/jobs/{job_id}/metrics").json()["timestamps"]
        session, backend = job["session_id"], job["backend"]
        running, finished = instant(times["running"]), instant(times["finished"])
        spans.setdefault((backend, session), []).append((running, finished))
        starts.append((running, backend, session))
    violations = 0
    for (backend, session), intervals in spans.items():
        if session is None:
            continue
        first = min(start for start, _ in intervals)
        last = max(end for _, end in intervals)
        violations += sum(
            1
            for when, where, owner in starts
            if where == backend and owner != session and first < when < last
        )
    return violations


def hand_written(count: int) -> float:
    """Seconds for the same PUBs run one by one on Aer's SamplerV2, no service."""
    sampler = SamplerV2()
    circuit = tiny_circuit()
    started = time.perf_counter()
    for _ in range(count):
        sampler.run([(circuit, None, SHOTS)]).result()
    return time.perf_counter() - started


def run_load(args: argparse.Namespace, backends: list[str], workers: int) -> dict[str, float]:
    """One run of the whole load on a service with ``workers`` worker processes; prints it
    and returns its figures."""
    service = Service(backends, workers)
    try:
        deadline = time.perf_counter() + args.deadline
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients + 1) as pool:
            futures = [
                pool.submit(
                    session_client,
                    service.url,
                    backends[index % len(backends)],
                    args.jobs,
                    deadline,
                )
                for index in range(args.clients)
            ]
            futures.append(pool.submit(stray_client, service.url, backends, args.strays, deadline))
            outcomes = [item for future in futures for item in future.result()]
        wall = time.perf_counter() - started
        checker = Client(service.url)
        ids = [job_id for job_id, _, _ in outcomes]
        listed = checker.http.get("/jobs", params={"limit": str(len(ids) + 10)}).json()
        violations = priority_violations(checker, ids)
        checker.http.close()
    finally:
        service.stop()

    total = len(outcomes)
    completed = sum(1 for _, status, _ in outcomes if status == "Completed")
    latencies = [latency for _, _, latency in outcomes]
    log = service.log
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
        percentile(submit_ms, 0.5) + percentile(status_ms, 0.5) + percentile(result_ms, 0.5),
        percentile(submit_ms, 0.99) + percentile(status_ms, 0.99) + percentile(result_ms, 0.99),
    ]
    print(f"--- {workers} worker(s), backends {', '.join(backends)}")
    print(f"jobs: {total} submitted, {completed} completed, {listed['count']} listed")
    print(f"sessions: {args.clients} × {args.jobs} jobs, {args.strays} stray jobs")
    print(f"5xx answers: {len(server_errors)}; priority violations: {violations}")
    print(f"wall time: {wall:.2f} s -> {total / wall:.1f} jobs/s")
    print(
        "submit-to-result latency (client, 0.1 s polling): "
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
        f"p99 {per_job[1]:.2f} ms (target p50 < 5 ms)"
    )
    print(f"mean polls per job: {len(status_ms) / max(total, 1):.1f}")
    if service.other:
        print("server said:", "".join(service.other[-5:]), file=sys.stderr)
    ok = (
        completed == total == listed["count"]
        and not server_errors
        and violations == 0
        and statistics.median(latencies) > 0
    )
    return {"ok": float(ok), "rate": total / wall, "total": float(total), "p50": per_job[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=25)
    parser.add_argument("--strays", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--workers", default="1,4", help="worker counts to compare")
    args = parser.parse_args()
    backends = [name for name in args.backends.split(",") if name]
    runs = {int(count): run_load(args, backends, int(count)) for count in args.workers.split(",")}
    total = int(next(iter(runs.values()))["total"])
    baseline = hand_written(total)
    print(
        f"hand-written Aer SamplerV2, same {total} PUBs one by one: {baseline:.2f} s "
        f"-> {total / baseline:.1f} jobs/s"
    )
    ok = all(run["ok"] for run in runs.values())
    if len(runs) > 1:
        fewest, most = min(runs), max(runs)
        speedup = runs[most]["rate"] / runs[fewest]["rate"]
        print(f"throughput with {most} workers / with {fewest}: {speedup:.2f}x (target >= 1.7x)")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
