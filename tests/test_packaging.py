"""What a plain ``pip install`` of qrun carries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _configured() -> tuple[list[str], dict[str, str]]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setuptools["packages"], setuptools["package-dir"]


def _package_dir(name: str, mapping: dict[str, str]) -> Path:
    """Where setuptools takes package ``name`` from, following the package-dir mapping."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in mapping:
            return ROOT.joinpath(mapping[prefix], *parts[cut:])
    raise AssertionError(f"{name} is not under any package-dir mapping")


class TestPackageList:
    """If a folder of the source tree is a Python package, the wheel carries it."""

    def test_every_package_on_disk_is_listed(self) -> None:
        packages, mapping = _configured()
        on_disk = set()
        for top, source in mapping.items():
            for init in ROOT.joinpath(source).rglob("__init__.py"):
                relative = init.parent.relative_to(ROOT / source)
                if "__pycache__" in relative.parts:
                    continue
                on_disk.add(".".join([top, *relative.parts]))
        missing = sorted(on_disk - set(packages))
        assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"

    @pytest.mark.parametrize("name", _configured()[0])
    def test_every_listed_package_exists(self, name: str) -> None:
        assert (_package_dir(name, _configured()[1]) / "__init__.py").is_file()


SERVER_STACK = ("starlette", "uvicorn")
PACKAGE = ROOT / "runner" / "qrun"
EXAMPLES = ROOT / "spec" / "examples"

_WITHOUT_SERVE_EXTRA = """
import json
import sys
from importlib.abc import MetaPathFinder

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {stack!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
        return None

sys.meta_path.insert(0, NotInstalled())
from qrun.cli import main
codes = [main(argv) for argv in {commands!r}]
print(json.dumps(codes))
"""


class TestWithoutTheServeExtra:
    """If qrun is installed without the ``serve`` extra, only the service needs the web
    stack: every example still plans, and a local one runs."""

    def test_only_the_service_imports_the_web_stack(self) -> None:
        import ast

        importers = set()
        for module in PACKAGE.rglob("*.py"):
            tree = ast.parse(module.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] in SERVER_STACK for name in names):
                    importers.add(module.relative_to(PACKAGE).as_posix())
        allowed = {"commands/serve.py"}
        assert {name for name in importers if not name.startswith("serve/")} <= allowed

    def test_every_example_plans_and_bell_runs(self, tmp_path: Path) -> None:
        import json
        import subprocess

        examples = sorted(str(path) for path in EXAMPLES.glob("*.yaml"))
        commands = [["plan", path] for path in examples]
        commands.append(["run", str(EXAMPLES / "bell.yaml"), "-o", str(tmp_path / "bell")])
        script = _WITHOUT_SERVE_EXTRA.format(stack=set(SERVER_STACK), commands=commands)
        environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "1"}
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=False,
            env=environment,
            cwd=tmp_path,
        )
        assert "Traceback" not in done.stderr, done.stderr
        returned = json.loads(done.stdout.splitlines()[-1])
        codes = dict(zip([" ".join(c[:2]) for c in commands], returned, strict=True))
        least_busy = f"plan {EXAMPLES / 'least-busy.yaml'}"
        assert codes.pop(least_busy) == 1  # no IBM Quantum account here, said in one line
        assert set(codes.values()) == {0}, codes
        assert "save an account with QiskitRuntimeService.save_account()" in done.stderr
