"""``qrun serve`` arguments, its printed recipe, and its configuration file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.cli import build_parser, main
from qrun.commands.serve import recipe
from qrun.errors import BackendError
from qrun.serve import create_app
from qrun.serve.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config

if TYPE_CHECKING:
    from pathlib import Path


class TestCommandLine:
    """If the user starts ``qrun serve``, the defaults are loopback-only."""

    def test_defaults(self) -> None:
        args = build_parser("serve").parse_args([])
        assert (args.host, args.port, args.config) == ("127.0.0.1", 8765, None)
        assert args.virtual_clock is False

    def test_bad_config_file_exits_1_with_its_path(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "serve.yaml"
        path.write_text("instances: {a: {crn: nope}}\n")
        assert main(["serve", "--config", str(path)]) == 1
        assert f"{path}: $.instances.a.crn: expected a CRN" in capsys.readouterr().err


class TestRecipe:
    """If the service starts, it prints how to point unmodified client code at it."""

    def test_names_the_environment_and_constructor(self) -> None:
        text = recipe("http://127.0.0.1:9000", DEFAULT_CONFIG)
        assert "export IAM_URL=http://127.0.0.1:9000" in text
        assert "export GLOBAL_SEARCH_URL=http://127.0.0.1:9000/search" in text
        assert "url_resolver=lambda url, *_: url + '/api/v1'" in text
        assert "no sessions" in text
        assert DEFAULT_CONFIG.instances[0].crn in text
        assert "admin" not in text

    def test_virtual_clock_names_the_admin_key(self) -> None:
        text = recipe("http://127.0.0.1:9000", DEFAULT_CONFIG, "drawn-admin-key")
        assert "admin key: drawn-admin-key" in text
        assert "http://127.0.0.1:9000/admin/v1/clock/advance" in text


class TestConfigFile:
    """If a configuration is wrong, the error names the key; if absent, defaults apply."""

    def test_no_file_is_the_default(self) -> None:
        assert load_config(None) == DEFAULT_CONFIG
        assert [item.plan for item in DEFAULT_CONFIG.instances] == ["premium", "open", "premium"]
        assert [item.interactive_ttl for item in DEFAULT_CONFIG.instances] == [60, 60, 120]

    def test_durations_accept_strings(self, tmp_path: Path) -> None:
        path = tmp_path / "serve.yaml"
        path.write_text(
            "instances:\n  p: {crn: 'crn:v1:x', interactive_ttl: 2m, max_ttl: 1h}\n"
            "api_keys: {k: [p]}\n"
        )
        (instance,) = load_config(path).instances
        assert (instance.interactive_ttl, instance.max_ttl) == (120.0, 3600.0)

    @pytest.mark.parametrize(
        ("document", "expected"),
        [
            ({"instances": {"p": {"crn": "crn:v1:x", "plan": "gold"}}}, r"\$.instances.p.plan"),
            ({"api_keys": {"k": ["ghost"]}}, r"\$.api_keys.k: unknown instances \['ghost'\]"),
            ({"colour": "blue"}, r"unknown keys \['colour'\]"),
        ],
    )
    def test_errors_name_the_key(self, document: dict[str, object], expected: str) -> None:
        with pytest.raises(ConfigError, match=expected):
            parse_config(document)

    def test_unknown_backend_is_refused_when_serving(self) -> None:
        with pytest.raises(BackendError, match=r"unknown backends \['fake_nowhere'\]"):
            create_app(parse_config({"backends": ["aer", "fake_nowhere"]}))


class TestPrintedRecipe:
    """If ``qrun serve`` starts, it prints the admin API only when a virtual clock runs."""

    @staticmethod
    def _banner(*flags: str) -> str:
        import subprocess
        import sys

        process = subprocess.Popen(
            [sys.executable, "-m", "qrun", "serve", "--port", "0", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines = []
        assert process.stdout is not None
        try:
            for line in process.stdout:
                lines.append(line)
                if "url_resolver" in line:
                    break
        finally:
            # The banner is written and flushed in one piece before the server starts
            # serving, so once part of it has arrived the rest is in the pipe.
            process.terminate()
            lines.append(process.stdout.read())
            process.wait(timeout=30)
        return "".join(lines)

    def test_system_clock_has_no_admin_section(self) -> None:
        banner = self._banner()
        assert "QiskitRuntimeService(channel='ibm_quantum_platform'" in banner
        assert "admin" not in banner

    def test_virtual_clock_prints_a_drawn_admin_key(self) -> None:
        banner = self._banner("--virtual-clock")
        assert "Virtual clock" in banner or "admin key" in banner


class TestOpenMPWaits:
    """If ``qrun serve`` starts, Aer's idle OpenMP threads spin briefly (its workers
    inherit it), unless the user said how they wait."""

    @pytest.fixture
    def environment(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
        import os

        copy = {
            key: value
            for key, value in os.environ.items()
            if key not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
        }
        monkeypatch.setattr(os, "environ", copy)
        return copy

    def test_set_as_the_service_starts(self, environment: dict[str, str], tmp_path: Path) -> None:
        from qrun.commands import serve

        assert main(["serve", "--config", str(tmp_path / "missing.yaml")]) == 1
        assert environment["GOMP_SPINCOUNT"] == serve.OPENMP_SPIN_COUNT

    @pytest.mark.parametrize("chosen", [("GOMP_SPINCOUNT", "0"), ("OMP_WAIT_POLICY", "ACTIVE")])
    def test_a_users_choice_is_kept(
        self, environment: dict[str, str], tmp_path: Path, chosen: tuple[str, str]
    ) -> None:
        environment[chosen[0]] = chosen[1]
        main(["serve", "--config", str(tmp_path / "missing.yaml")])
        assert {key: environment.get(key) for key in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")} == {
            "GOMP_SPINCOUNT": chosen[1] if chosen[0] == "GOMP_SPINCOUNT" else None,
            "OMP_WAIT_POLICY": chosen[1] if chosen[0] == "OMP_WAIT_POLICY" else None,
        }

    def test_a_run_keeps_the_librarys_default(self, environment: dict[str, str]) -> None:
        assert main(["--version"]) == 0
        assert "GOMP_SPINCOUNT" not in environment
