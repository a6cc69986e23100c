"""``qrun run FILE… | DIR``: several manifests, each in its own ``qrun run`` process, a
summary at the end and the worst exit code; a bad one does not stop the others."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest

from qrun.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EXIT_USER
from qrun.run.many import output_folders, worst_exit_code

EXAMPLES = Path(str(files("qrun.spec") / "examples"))
ENVIRONMENT = {**os.environ, "CI": "1"}


def _bell(folder: Path, name: str, seed: int, shots: int = 32) -> Path:
    """A tiny seeded Bell-pair manifest, written from the example."""
    text = (EXAMPLES / "bell.yaml").read_text(encoding="utf-8")
    text = text.replace("name: bell", f"name: {name}", 1)
    text = text.replace("default_shots: 4096", f"default_shots: {shots}")
    text = text.replace("seed_simulator: 1234", f"seed_simulator: {seed}")
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _invalid(folder: Path) -> Path:
    """A manifest whose execution mode is misspelt at line 6, column 9."""
    path = folder / "broken.yaml"
    path.write_text(
        "qrun: 1\nbackend:\n  name: aer\nexecution:\n  max_time: 5m\n  mode: sesion\n",
        encoding="utf-8",
    )
    return path


def _qrun(*arguments: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qrun", *map(str, arguments)],
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        timeout=timeout,
        check=False,
    )


def _counts(record: Path) -> list[object]:
    """The seeded part of a record's results: every register's counts and bitstrings."""
    results = json.loads((record / "results.json").read_text(encoding="utf-8"))
    return [[pub["registers"] for pub in primitive["pubs"]] for primitive in results["primitives"]]


@pytest.mark.slow
class TestFolder:
    """If a folder holds twenty manifests, one of them invalid, the nineteen others run
    and are recorded, the invalid one is named with its position, and the exit is 1."""

    def test_twenty_manifests(self, tmp_path: Path) -> None:
        studies = tmp_path / "studies"
        studies.mkdir()
        good = [_bell(studies, f"bell-{number:02}", seed=number) for number in range(19)]
        broken = _invalid(studies)
        (studies / "settings.yml").write_text("colour: blue\n", encoding="utf-8")  # no qrun:
        (studies / "deeper").mkdir()
        _bell(studies / "deeper", "not-searched", seed=99)

        started = time.monotonic()
        ran = _qrun("run", studies, "--json")
        took = time.monotonic() - started

        assert ran.returncode == EXIT_USER, ran.stderr
        assert "Traceback" not in ran.stderr
        summary = json.loads(ran.stdout)
        assert summary["format"] == "qrun.many/1"
        assert summary["exit_code"] == EXIT_USER
        assert summary["interrupted"] is False
        assert summary["counts"] == {"ok": 19, "failed": 0, "invalid": 1, "interrupted": 0}
        by_name = {Path(run["manifest"]).name: run for run in summary["runs"]}
        assert sorted(by_name) == sorted(path.name for path in [*good, broken])
        assert set(summary["runs"][0]) == {
            "manifest",
            "status",
            "exit_code",
            "jobs",
            "seconds",
            "record",
            "error",
        }
        for path in good:
            run = by_name[path.name]
            assert (run["status"], run["exit_code"], run["jobs"]) == ("ok", EXIT_OK, 1)
            record = Path(run["record"])
            assert record.parent == studies / "runs"
            assert (record / "run.json").is_file()
        invalid = by_name["broken.yaml"]
        assert (invalid["status"], invalid["exit_code"]) == ("invalid", EXIT_USER)
        assert invalid["record"] is None
        assert invalid["error"].startswith(f"{broken}:6:9: $.execution.mode: 'sesion'")
        assert len(list((studies / "runs").glob("*/run.json"))) == 19
        assert not (studies / "deeper" / "runs").exists()
        assert f"{broken}:6:9:" in ran.stderr  # the progress lines show what it said
        assert took < 90


@pytest.mark.slow
class TestTable:
    """If several files are named with ``-o``, each record goes under its name, the
    service options reach every run, and the table shows each manifest's status, jobs,
    time, record and first error."""

    def test_table_and_output_folders(self, tmp_path: Path) -> None:
        bell = _bell(tmp_path, "bell", seed=3)
        broken = _invalid(tmp_path)
        out = tmp_path / "out"
        ran = _qrun("run", bell, broken, "-o", out, "--max-parallel", "2", "--instance", "team-a")
        assert ran.returncode == EXIT_USER, ran.stderr
        header, first, second, totals = ran.stdout.splitlines()
        assert header.split() == ["manifest", "status", "jobs", "wall", "record", "first", "error"]
        assert first.split()[:3] == [str(bell), "ok", "1"]
        assert first.split()[4] == str(tmp_path / "out" / "bell")
        assert second.split()[:3] == [str(broken), "invalid", "-"]
        assert f"{broken}:6:9: $.execution.mode:" in second
        assert totals.startswith("2 manifests: 1 ok, 1 invalid; ")
        assert totals.endswith("up to 2 at once")
        assert (tmp_path / "out" / "bell" / "run.json").is_file()
        journal = json.loads((tmp_path / "out" / "bell" / "journal.json").read_text("utf-8"))
        assert journal["service"]["instance"] == "team-a"
        assert not (tmp_path / "out" / "broken").exists()


@pytest.mark.slow
class TestFailed:
    """If one manifest's run fails, the others still run, and the exit is 1."""

    def test_occupied_record_folder(self, tmp_path: Path) -> None:
        first = _bell(tmp_path, "first", seed=1)
        second = _bell(tmp_path, "second", seed=2)
        (tmp_path / "out" / "first").mkdir(parents=True)
        (tmp_path / "out" / "first" / "keep.txt").write_text("another run's\n", encoding="utf-8")
        ran = _qrun("run", first, second, "-o", tmp_path / "out", "--json")
        assert ran.returncode == EXIT_USER, ran.stderr
        failed, ok = json.loads(ran.stdout)["runs"]
        assert (failed["status"], failed["exit_code"], failed["record"]) == ("failed", 1, None)
        assert failed["error"] == (
            f"{first}: {tmp_path / 'out' / 'first'} is not empty; "
            "a run writes its record into a new or empty folder"
        )
        assert (ok["status"], ok["record"]) == ("ok", str(tmp_path / "out" / "second"))
        assert (tmp_path / "out" / "second" / "run.json").is_file()


@pytest.mark.slow
class TestParallelism:
    """If the same seeded manifests run one at a time or four at once, their records hold
    the same results."""

    def test_same_records(self, tmp_path: Path) -> None:
        studies = tmp_path / "studies"
        studies.mkdir()
        names = [f"bell-{seed}" for seed in range(4)]
        for seed, name in enumerate(names):
            _bell(studies, name, seed=seed, shots=256)
        one = _qrun("run", studies, "-o", tmp_path / "one", "--max-parallel", "1")
        four = _qrun("run", studies, "-o", tmp_path / "four", "--max-parallel", "4")
        assert (one.returncode, four.returncode) == (EXIT_OK, EXIT_OK), one.stderr + four.stderr
        assert one.stdout.splitlines()[-1].endswith("up to 1 at once")
        assert four.stdout.splitlines()[-1].endswith("up to 4 at once")
        for name in names:
            assert _counts(tmp_path / "one" / name) == _counts(tmp_path / "four" / name)
        assert _counts(tmp_path / "one" / names[0]) != _counts(tmp_path / "one" / names[1])


def _many_in_background(studies: Path, out: Path) -> subprocess.Popen[str]:
    """``qrun run STUDIES -o OUT -j2 --json`` started, two manifests at once."""
    return subprocess.Popen(
        [sys.executable, "-m", "qrun", "run", str(studies), "-o", str(out), "-j2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
    )


@pytest.mark.slow
class TestInterrupted:
    """If the run of several manifests gets Ctrl-C, every started manifest cancels and
    closes its session and writes its record, none starts after, and the exit is 130."""

    @pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
    def test_children_close_and_record(self, tmp_path: Path, stop: signal.Signals) -> None:
        studies = tmp_path / "studies"
        studies.mkdir()
        source = (EXAMPLES / "vqe-two-optimizers.yaml").read_text(encoding="utf-8")
        for name in ("a", "b", "c"):
            (studies / f"{name}.yaml").write_text(source, encoding="utf-8")
        out = tmp_path / "out"
        parent = _many_in_background(studies, out)
        journals = [out / name / "journal.json" for name in ("a", "b")]
        deadline = time.monotonic() + 60  # the two first sessions open, then Ctrl-C
        while not all(journal.exists() for journal in journals) and parent.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        parent.send_signal(stop)
        stdout, stderr = parent.communicate(timeout=60)

        assert parent.returncode == EXIT_INTERRUPTED, stderr
        assert "Traceback" not in stderr
        summary = json.loads(stdout)
        assert summary["interrupted"] is True
        assert [run["status"] for run in summary["runs"]] == ["interrupted"] * 3
        for name in ("a", "b"):
            run = json.loads((out / name / "run.json").read_text(encoding="utf-8"))
            assert run["interrupted"] is True
            assert run["session"]["status_end"] == "Closed"
            assert {job["status"] for job in run["jobs"]} <= {"DONE", "ERROR", "CANCELLED"}
            jobs = len(run["jobs"]) + sum(workload["jobs"] for workload in run["workloads"])
            assert summary["runs"][ord(name) - ord("a")]["jobs"] == jobs
        assert not (out / "c").exists()
        assert summary["runs"][2]["error"] == "not started: interrupted"
        assert summary["runs"][2]["record"] is None


def _children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started (from any of its threads), with their command lines."""
    found = {}
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text(encoding="utf-8").split():
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{child}/cmdline").read_bytes()
                found[int(child)] = command.replace(b"\0", b" ").decode()
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
class TestKilled:
    """If one manifest's process is killed outright, that manifest is reported failed
    with the signal's name and the partial record it left, and the others go on."""

    def test_sigkill(self, tmp_path: Path) -> None:
        studies = tmp_path / "studies"
        studies.mkdir()
        slow = (EXAMPLES / "vqe-two-optimizers.yaml").read_text(encoding="utf-8")
        (studies / "a.yaml").write_text(slow, encoding="utf-8")
        _bell(studies, "b", seed=5)
        out = tmp_path / "out"
        parent = _many_in_background(studies, out)
        deadline = time.monotonic() + 60  # a's session opens, then a is killed
        while not (out / "a" / "journal.json").exists() and parent.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (victim,) = [pid for pid, line in _children(parent.pid).items() if "a.yaml" in line]
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = parent.communicate(timeout=60)

        assert parent.returncode == EXIT_USER, stderr
        killed, other = json.loads(stdout)["runs"]
        assert (killed["status"], killed["exit_code"]) == ("failed", EXIT_USER)
        assert killed["error"] == "killed by SIGKILL"
        assert killed["record"] == str(out / "a")  # its journal, for qrun resume
        assert (other["status"], other["record"]) == ("ok", str(out / "b"))


class TestNothingToRun:
    """If a folder holds no manifest, that is said plainly, and nothing runs."""

    def test_empty_folder(self, tmp_path: Path) -> None:
        (tmp_path / "notes.yaml").write_text("title: not a manifest\n", encoding="utf-8")
        ran = _qrun("run", tmp_path)
        assert ran.returncode == EXIT_USER
        assert ran.stdout == ""
        assert ran.stderr == (
            f"qrun: {tmp_path}: no manifest in this folder (a *.yaml or *.yml file with a "
            "line starting `qrun:`); subfolders are not searched\n"
        )
        assert not (tmp_path / "runs").exists()


class TestJudgedByItsOutput:
    """If a child left no outcome (it died), its first error is read from what it said,
    passing over warnings and notes written before it."""

    def test_a_note_is_not_the_error(self) -> None:
        from qrun.run.many import _judged

        said = (
            "qrun: note: --compute ray=127.0.0.1:6379: the jobs of ibm_torino compute on the "
            "Runtime service, not here; the choice does not apply to this run\n"
            "qrun: warning: no shots given\n"
            "qrun: ibm_torino: the backend is not reachable\n"
        )
        run = _judged(Path("a.yaml"), EXIT_BUG, None, said, seconds=1.0, output=None)
        assert run.error == "ibm_torino: the backend is not reachable"


class TestExitCode:
    """If runs end differently, the exit code is the worst of them: 0 < 1 < 2 < 3, and
    130 whenever one (or the whole) was interrupted."""

    @pytest.mark.parametrize(
        ("codes", "interrupted", "expected"),
        [
            ([], False, EXIT_OK),
            ([EXIT_OK, EXIT_OK], False, EXIT_OK),
            ([EXIT_OK, EXIT_USER, EXIT_OK], False, EXIT_USER),
            ([EXIT_USAGE, EXIT_USER], False, EXIT_USAGE),
            ([EXIT_USER, EXIT_BUG, EXIT_USAGE], False, EXIT_BUG),
            ([EXIT_BUG, EXIT_INTERRUPTED], False, EXIT_INTERRUPTED),
            ([EXIT_OK], True, EXIT_INTERRUPTED),
        ],
    )
    def test_worst(self, codes: list[int], interrupted: bool, expected: int) -> None:
        assert worst_exit_code(codes, interrupted=interrupted) == expected


class TestOutputFolders:
    """If ``-o DIR`` is given, each record goes to DIR/<manifest path below the common
    folder, without suffix>, and a name taken twice gets a number."""

    def test_names(self, tmp_path: Path) -> None:
        manifests = [
            tmp_path / "a" / "bell.yaml",
            tmp_path / "b" / "bell.yaml",
            tmp_path / "b" / "bell.yml",
        ]
        assert output_folders(manifests, tmp_path / "out") == [
            tmp_path / "out" / "a" / "bell",
            tmp_path / "out" / "b" / "bell",
            tmp_path / "out" / "b" / "bell-2",
        ]
