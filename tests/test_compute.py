"""Where jobs compute: the ``--compute`` choice, worker processes, and Ray's absence."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from qrun import cli
from qrun.compute import INSTALL_HINT, Compute, add_compute_option, parse_compute
from qrun.errors import EXIT_USAGE, EXIT_USER
from qrun.manifest.load import load_manifest
from qrun.run.pipeline import run_manifest
from qrun.serve.config import ConfigError, parse_config
from tests.compute_support import comparable, sweep_manifest

EXAMPLES = Path(str(resources.files("qrun.spec") / "examples"))


class TestChoice:
    """If a compute is written as text, it reads back as the same text."""

    @pytest.mark.parametrize(
        "text", ["local", "processes", "ray", "ray=10.0.0.5:6379", "ray=ray://head:10001"]
    )
    def test_round_trip(self, text: str) -> None:
        assert str(parse_compute(text)) == text

    def test_address_is_kept(self) -> None:
        assert parse_compute("ray=head:6379") == Compute("ray", "head:6379")

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("gpu", "unknown compute 'gpu'"),
            ("processes=4", "takes no address"),
            ("ray=", "names no address"),
            ("ray=a b", "white space"),
            ("", "unknown compute ''"),
        ],
    )
    def test_bad_text_says_what_is_accepted(self, text: str, says: str) -> None:
        with pytest.raises(
            ValueError, match="expected local, processes, ray or ray=ADDRESS"
        ) as found:
            parse_compute(text)
        assert says in str(found.value)

    def test_only_ray_takes_an_address(self) -> None:
        with pytest.raises(ValueError, match="takes no address"):
            Compute("local", "head:6379")

    def test_option_defaults_to_local(self) -> None:
        parser = argparse.ArgumentParser()
        add_compute_option(parser)
        assert parser.parse_args([]).compute == Compute("local")
        assert parser.parse_args(["--compute", "ray=h:1"]).compute == Compute("ray", "h:1")


class TestCommandLine:
    """If ``--compute`` is wrong or cannot be had, the command says so without a traceback."""

    def test_unknown_compute_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = cli.main(["run", str(EXAMPLES / "bell.yaml"), "--compute", "cloud"])
        assert code == EXIT_USAGE
        error = capsys.readouterr().err
        assert "argument --compute: unknown compute 'cloud'" in error
        assert "Traceback" not in error

    def test_ray_without_ray_installed_says_how_to_install_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
        code = cli.main(
            ["run", str(EXAMPLES / "bell.yaml"), "--compute", "ray", "-o", str(tmp_path / "r")]
        )
        error = capsys.readouterr().err
        assert code == EXIT_USER
        assert f"--compute ray needs Ray, which is not installed here: {INSTALL_HINT}" in error
        assert INSTALL_HINT == "pip install 'qiskit-qrun[ray]'"
        assert "Traceback" not in error
        assert not (tmp_path / "r").exists()

    def test_serve_without_ray_installed_says_how_to_install_it(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setitem(sys.modules, "ray", None)
        code = cli.main(["serve", "--port", "0", "--compute", "ray=127.0.0.1:1"])
        error = capsys.readouterr().err
        assert code == EXIT_USER
        assert INSTALL_HINT in error
        assert "Traceback" not in error

    def test_nothing_imports_ray_unless_asked(self) -> None:
        script = (
            "import sys\n"
            "from qrun.commands import run, serve\n"
            "from qrun.compute import Compute, executor_for\n"
            "from qrun.providers.local import LocalProvider\n"
            "LocalProvider(compute=Compute('local')).shutdown()\n"
            "executor_for(Compute('local'), workers=1).shutdown()\n"
            "print('ray' in sys.modules)\n"
        )
        found = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert found.stdout.strip() == "False"


class TestProcesses:
    """If jobs compute in worker processes, the results are those computed in process."""

    @pytest.mark.slow
    def test_sweep_matches_the_in_process_run(self, tmp_path: Path) -> None:
        manifest = load_manifest(sweep_manifest(tmp_path, 12))
        here = run_manifest(manifest, output=tmp_path / "local")
        there = run_manifest(manifest, output=tmp_path / "processes", compute=Compute("processes"))
        assert comparable(there.folder / "results.json") == comparable(here.folder / "results.json")
        assert not there.outcome.failed
        assert json.loads((there.folder / "run.json").read_text())["compute"] == "processes"
        assert json.loads((here.folder / "run.json").read_text())["compute"] == "local"


class TestServeConfig:
    """If the service's configuration names a compute, jobs compute there; a wrong one is
    an error at ``$.compute``."""

    def test_default_is_worker_processes(self) -> None:
        assert parse_config({}).compute == Compute("processes")

    def test_ray_with_an_address(self) -> None:
        assert parse_config({"compute": "ray=head:6379"}).compute == Compute("ray", "head:6379")

    @pytest.mark.parametrize("value", ["gpus", 3, "local=x"])
    def test_wrong_compute_names_its_key(self, value: object) -> None:
        with pytest.raises(ConfigError, match=r"serve.yaml: \$\.compute: .*expected local"):
            parse_config({"compute": value}, source="serve.yaml")
