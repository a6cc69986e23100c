"""Realistic timing on the real clock: a started job shows as queued a while, then runs at
least a minimum time, so a user's timeout and cancel code meets the states IBM's does."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from qiskit_ibm_runtime import SamplerV2
from qiskit_ibm_runtime.exceptions import RuntimeInvalidStateError

from qrun.client import service
from qrun.serve import Server, create_app
from qrun.serve.config import ConfigError, parse_config
from tests.serve_support import PREMIUM, tiny_circuit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import QiskitRuntimeService

LATENCY = 0.6
MINIMUM = 0.8
CONFIG = parse_config(
    {
        "instances": {"premium": {"crn": PREMIUM}},
        "api_keys": {"key": ["premium"]},
        "backends": ["aer"],
        "timing": {"queue_latency": LATENCY, "min_duration": MINIMUM},
    }
)


@pytest.fixture(autouse=True)
def _quiet_client() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture(scope="module")
def client() -> Iterator[QiskitRuntimeService]:
    with Server(create_app(CONFIG)) as server:
        yield service(server.url, token="key", instance=PREMIUM)


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class TestRealTiming:
    """If timing is configured, jobs are queued, then run, for at least the times given."""

    def test_queued_then_running_then_done(self, client: QiskitRuntimeService) -> None:
        job = SamplerV2(mode=client.backend("aer")).run([(tiny_circuit(), None, 8)])
        assert job.status() == "QUEUED"
        assert job.result(timeout=30)[0].data.c.get_counts() == {"1": 8}
        stamps = job.metrics()["timestamps"]
        created, running, finished = (
            _seconds(stamps[key]) for key in ("created", "running", "finished")
        )
        assert running - created >= LATENCY
        assert finished - running >= MINIMUM * 0.99

    def test_a_job_cancelled_while_queued(self, client: QiskitRuntimeService) -> None:
        job = SamplerV2(mode=client.backend("aer")).run([(tiny_circuit(), None, 8)])
        assert job.status() == "QUEUED"
        job.cancel()
        assert job.status() == "CANCELLED"
        with pytest.raises(RuntimeInvalidStateError):
            job.result(timeout=30)
        assert job.metrics()["timestamps"]["running"] is None


class TestSettings:
    """If timing or workers are set wrongly, the error names the key or the flag."""

    def test_bad_timing_key(self) -> None:
        with pytest.raises(ConfigError, match=r"\$\.timing: unknown keys \['latency'\]"):
            parse_config({"timing": {"latency": 1}})

    def test_bad_workers(self) -> None:
        with pytest.raises(ConfigError, match=r"\$\.workers"):
            parse_config({"workers": 0})

    def test_off_by_default(self) -> None:
        assert not parse_config({}).timing

    def test_negative_flag_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        from qrun.cli import main

        assert main(["serve", "--port", "0", "--min-duration", "-1"]) == 2
        assert "--min-duration: expected a number from 0, got -1" in capsys.readouterr().err
