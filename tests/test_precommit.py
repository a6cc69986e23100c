"""The pre-commit hooks of ``.pre-commit-hooks.yaml``, tried as a user's repository would
use them (``pre-commit try-repo`` on a scratch repository)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "spec" / "examples"
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.email=qrun@example.com", "-c", "user.name=qrun",
         *args],
        check=True, capture_output=True,
    )  # fmt: skip


class TestHookDefinitions:
    """If a user adds the hooks, each runs the qrun command on manifests among YAML files."""

    def test_hooks(self) -> None:
        hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
        assert {hook["id"]: hook["entry"] for hook in hooks} == {
            "qrun-validate": "qrun validate --manifests-only",
            "qrun-fmt": "qrun fmt --manifests-only",
        }
        assert all(hook["types"] == ["yaml"] for hook in hooks)
        assert all(hook["language"] == "python" for hook in hooks)


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the qrun repository's git checkout")
@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed (dev extra)")
def test_try_repo_on_a_scratch_repository(tmp_path: Path) -> None:
    """If a commit holds a canonical, a badly laid out and an invalid manifest beside other
    YAML, the hooks fail it: validate names the invalid one's line, fmt rewrites the badly
    laid out one, and nothing else is touched."""
    scratch = tmp_path / "experiments"
    scratch.mkdir()
    bell = (EXAMPLES / "bell.yaml").read_text(encoding="utf-8")
    messy = bell.replace("  mode: session\n  max_time: 25m\n", "  max_time: 25m\n  mode: session\n")
    invalid = (EXAMPLES / "invalid" / "typo-key.yaml").read_text(encoding="utf-8")
    workflow = "on: push\njobs:\n    build: {runs-on: ubuntu-latest}\n"
    files = {"bell.yaml": bell, "messy.yaml": messy, "typo.yaml": invalid, "ci.yaml": workflow}
    for name, text in files.items():
        (scratch / name).write_text(text, encoding="utf-8")
    _git(scratch, "init", "-q")
    _git(scratch, "add", ".")
    environment = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    environment.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "--all-files"],
        cwd=scratch, env=environment, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "qrun validate" in out and "qrun fmt" in out
    assert "typo.yaml:9:3: $.transpile.optimisation_level: unknown key" in out
    assert "files were modified by this hook" in out
    assert "reformatted messy.yaml" in out
    assert (scratch / "messy.yaml").read_text(encoding="utf-8") == bell
    for name in ("bell.yaml", "typo.yaml", "ci.yaml"):
        assert (scratch / name).read_text(encoding="utf-8") == files[name]
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
