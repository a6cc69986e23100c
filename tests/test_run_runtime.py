"""Manifests run through the real qiskit-ibm-runtime client against ``qrun serve`` on loopback."""

from __future__ import annotations

import json
import warnings
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main
from qrun.providers import Service, provider_name
from qrun.serve import Server, create_app
from qrun.serve.config import parse_config
from tests.manifests import BELL_QASM

if TYPE_CHECKING:
    from collections.abc import Iterator

PREMIUM = "crn:v1:bluemix:public:quantum-computing:us-east:a/test:premium::"
OPEN = "crn:v1:bluemix:public:quantum-computing:us-east:a/test:open::"
#: The API key the tests log in with; it must never show up in a record or the output.
TOKEN = "tok-3f9c1e77b2d84a6e"
CONFIG = parse_config(
    {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "open": {"crn": OPEN, "plan": "open"},
        },
        "api_keys": {TOKEN: ["premium", "open"]},
        "backends": ["aer", "fake_manila"],
    }
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with Server(create_app(CONFIG)) as server:
        yield server.url


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _manifest(
    folder: Path,
    *,
    backend: str = "name: fake_manila",
    execution: str = "mode: session\n  max_time: 25m",
    service: str = "",
) -> Path:
    body = "\n".join(f"      {line}" for line in BELL_QASM.splitlines())
    text = (
        f"qrun: 1\nmetadata:\n  name: bell-remote\nbackend:\n  {backend}\n"
        f"{service}execution:\n  {execution}\n"
        f"circuits:\n  bell:\n    qasm: |\n{body}\n"
        "primitives:\n  - sampler:\n    name: counts\n    options:\n      default_shots: 200\n"
        "      environment:\n        job_tags: [remote]\n    pubs:\n      - circuit: bell\n"
    )
    path = folder / "bell.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(
    folder: Path, manifest: Path, *options: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object], str]:
    record = folder / "record"
    code = main([str(manifest), "-o", str(record), *options])
    output = capsys.readouterr()
    run = json.loads((record / "run.json").read_text()) if (record / "run.json").exists() else {}
    return code, run, output.out + output.err


def _counts(folder: Path) -> dict[str, int]:
    document = json.loads((folder / "record" / "results.json").read_text())
    (primitive,) = document["primitives"]
    (pub,) = primitive["pubs"]
    counts: dict[str, int] = pub["registers"]["c"]["counts"]
    return counts


class TestProviderChoice:
    """If a service URL is given, every backend goes to the runtime provider."""

    def test_url_sends_fake_backends_to_runtime(self) -> None:
        assert provider_name("fake", Service(url="http://127.0.0.1:1")) == "runtime"
        assert provider_name("aer", Service(url="http://127.0.0.1:1")) == "runtime"

    def test_without_url_the_kind_decides(self) -> None:
        assert provider_name("fake", Service()) == "local"
        assert provider_name("ibm", Service()) == "runtime"

    def test_local_channel_keeps_it_embedded(self) -> None:
        settings = Service(channel="local", url="http://127.0.0.1:1")
        assert provider_name("fake", settings) == "local"


class TestModes:
    """If a manifest runs against a Runtime URL, its mode is what the service records."""

    def test_session_with_max_time(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path)
        code, run, _ = _run(tmp_path, manifest, "--url", url, "--instance", PREMIUM, capsys=capsys)
        assert code == 0
        assert run["backend"] == {
            "name": "fake_manila",
            "kind": "fake",
            "provider": "runtime",
            "chosen_by": None,
            "num_qubits": 5,
        }
        session = run["session"]
        assert isinstance(session, dict)
        assert session["details_start"]["mode"] == "dedicated"
        assert session["details_start"]["max_time"] == 1500
        assert session["status_end"] == "Closed"
        counts = _counts(tmp_path)
        assert sum(counts.values()) == 200
        assert counts.get("00", 0) + counts.get("11", 0) > 150  # noisy, but mostly a Bell pair

    def test_manifest_service_section(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        service = f"service:\n  url: {url}\n  instance: '{PREMIUM}'\n"
        manifest = _manifest(tmp_path, backend="name: aer", service=service)
        code, run, _ = _run(tmp_path, manifest, capsys=capsys)
        assert code == 0
        assert run["backend"]["provider"] == "runtime"  # type: ignore[index]
        assert set(_counts(tmp_path)) == {"00", "11"}

    def test_batch(self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        manifest = _manifest(tmp_path, execution="mode: batch")
        code, run, _ = _run(tmp_path, manifest, "--url", url, "--instance", PREMIUM, capsys=capsys)
        assert code == 0
        assert run["session"]["details_end"]["mode"] == "batch"  # type: ignore[index]
        assert run["session"]["status_end"] == "Closed"  # type: ignore[index]

    def test_job_mode_opens_no_session(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path, execution="mode: job")
        code, run, _ = _run(tmp_path, manifest, "--url", url, "--instance", PREMIUM, capsys=capsys)
        assert code == 0
        assert run["session"]["id"] is None  # type: ignore[index]
        (job,) = run["jobs"]  # type: ignore[misc]
        assert job["status"] == "DONE"
        assert job["tags"] == ["remote"]

    def test_compute_choice_does_not_apply_and_starts_no_ray_head(
        self,
        url: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from qrun.compute import cluster

        def no_head() -> None:
            raise AssertionError("a Ray head was started for jobs the service computes")

        monkeypatch.setattr(cluster, "local_head", no_head)
        manifest = _manifest(tmp_path, execution="mode: batch")
        code, run, said = _run(
            tmp_path,
            manifest,
            "--url",
            url,
            "--instance",
            PREMIUM,
            "--compute",
            "ray",
            capsys=capsys,
        )
        assert code == 0, said
        assert "--compute ray: the jobs of fake_manila compute on the Runtime service" in said
        assert run["compute"] is None


class TestOpenPlan:
    """If the instance is on the Open Plan, a session is refused before anything is sent."""

    def test_session_is_refused_with_the_reason(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path)
        code, _, output = _run(tmp_path, manifest, "--url", url, "--instance", OPEN, capsys=capsys)
        assert code == 1
        assert "bell.yaml:7:9: $.execution.mode: the service refused a session" in output
        assert "is on the Open Plan, which cannot open sessions" in output
        assert "nothing was submitted" in output
        assert "Traceback" not in output

    def test_fallback_runs_a_batch(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path, execution="mode: session\n  fallback: true")
        code, run, _ = _run(tmp_path, manifest, "--url", url, "--instance", OPEN, capsys=capsys)
        assert code == 0
        assert run["execution"]["fallback"] is True  # type: ignore[index]
        assert run["execution"]["mode"] == "batch"  # type: ignore[index]


class TestLeastBusy:
    """If the manifest asks for the least busy backend, the record says which one was chosen."""

    def test_choice_is_recorded(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path, backend="least_busy:\n    min_num_qubits: 10")
        code, run, _ = _run(tmp_path, manifest, "--url", url, "--instance", PREMIUM, capsys=capsys)
        assert code == 0
        backend = run["backend"]
        assert isinstance(backend, dict)
        assert backend["chosen_by"] == "least_busy"
        assert backend["name"] == "aer"  # the only served backend with 10 qubits or more
        summary = (tmp_path / "record" / "summary.md").read_text()
        assert "chosen by least_busy" in summary

    def test_shipped_example(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        example = Path(str(files("qrun.spec") / "examples" / "least-busy.yaml"))
        code, run, _ = _run(tmp_path, example, "--url", url, "--instance", PREMIUM, capsys=capsys)
        assert code == 0
        assert run["backend"]["chosen_by"] == "least_busy"  # type: ignore[index]
        assert run["execution"]["mode"] == "session"  # type: ignore[index]
        assert set(_counts(tmp_path)) == {"00", "11"}


class TestCredentials:
    """If the token comes from the environment, it appears nowhere in the record or output."""

    def test_token_is_not_written(
        self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path)
        code, _, output = _run(
            tmp_path, manifest, "--url", url, "--instance", PREMIUM, capsys=capsys
        )
        assert code == 0
        files = [path for path in (tmp_path / "record").rglob("*") if path.is_file()]
        assert len(files) > 3
        leaked = [path.name for path in files if TOKEN.encode() in path.read_bytes()]
        assert leaked == []
        assert TOKEN not in output

    def test_wrong_token_is_a_clear_error(
        self,
        url: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("QISKIT_IBM_TOKEN", "not-a-key-of-this-service")
        manifest = _manifest(tmp_path)
        code, _, output = _run(
            tmp_path, manifest, "--url", url, "--instance", PREMIUM, capsys=capsys
        )
        assert code == 1
        assert f"cannot connect to Qiskit Runtime at {url}" in output
        assert "not-a-key-of-this-service" not in output
