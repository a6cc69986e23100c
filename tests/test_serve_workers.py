"""How ``qrun serve`` shares the machine among the jobs computing at once."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from qrun.serve.config import DEFAULT_CONFIG
from qrun.serve.workers import backend_simulation, simulation_threads


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class TestCpuShare:
    """If several backends compute at once, their Aer threads together fit the CPUs."""

    @pytest.mark.parametrize("workers", [1, 2, 4, 64])
    def test_each_job_gets_the_cpus_divided_by_the_workers_and_at_least_one(
        self, workers: int
    ) -> None:
        config = replace(DEFAULT_CONFIG, workers=workers)
        threads = simulation_threads(config)
        assert threads == max(1, _cpus() // workers)
        assert threads * workers <= max(_cpus(), workers)

    def test_without_a_worker_count_every_backend_computes_at_once(self) -> None:
        config = replace(DEFAULT_CONFIG, workers=None, backends=["aer", "fake_manila"])
        assert simulation_threads(config) == max(1, _cpus() // 2)

    def test_a_fake_backend_simulates_its_noise_with_that_share(self) -> None:
        config = replace(DEFAULT_CONFIG, workers=64, backends=["aer", "fake_manila"])
        noisy = backend_simulation(config, "fake_manila")
        ideal = backend_simulation(config, "aer")
        assert noisy.noisy and not ideal.noisy
        assert noisy.settings.option("max_parallel_threads") == 1
        assert noisy.settings.aer_options("statevector")["max_parallel_threads"] == 1
