"""The run report: report.html in every record, ``qrun report``, and its plots."""

from __future__ import annotations

import json
import re
import textwrap
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from qrun.cli import main
from qrun.report import render_report
from qrun.report.scale import OTHER, nice_ticks, tick_label, top_outcomes
from qrun.run.histogram import write_histogram
from tests.browser_support import browser, page, screenshot
from tests.test_record import EVERYTHING

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["browser", "page"]  # fixtures used here

EXAMPLES = Path(str(files("qrun.spec") / "examples"))


@pytest.fixture(scope="module")
def bell_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records") / "bell"
    assert main([str(EXAMPLES / "bell.yaml"), "-o", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def everything_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("records")
    manifest = base / "everything.yaml"
    manifest.write_text(textwrap.dedent(EVERYTHING), encoding="utf-8")
    assert main([str(manifest), "-o", str(base / "everything")]) == 0
    return base / "everything"


@pytest.fixture(scope="module")
def options_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records") / "hardware-options"
    assert main([str(EXAMPLES / "hardware-options.yaml"), "-o", str(folder)]) == 0
    return folder


class TestTicks:
    """If an axis is drawn, its ticks are round numbers written without float noise."""

    @pytest.mark.parametrize(
        ("low", "high", "expected"),
        [
            (0, 2074, ["0", "500", "1000", "1500", "2000", "2500"]),
            (-1.137, -0.2, ["-1.2", "-1.0", "-0.8", "-0.6", "-0.4", "-0.2"]),
            (0, 1, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
            (0.001, 0.0042, ["0.001", "0.002", "0.003", "0.004", "0.005"]),
            (0, 11, ["0.0", "2.5", "5.0", "7.5", "10.0", "12.5"]),
        ],
    )
    def test_round_values(self, low: float, high: float, expected: list[str]) -> None:
        ticks = nice_ticks(low, high)
        assert [tick_label(value, ticks) for value in ticks] == expected

    def test_a_flat_range_still_has_an_axis(self) -> None:
        ticks = nice_ticks(5, 5)
        assert ticks[0] < 5 < ticks[-1]


class TestTopOutcomes:
    """If there are more outcomes than bars, the rarest are summed into one 'other' bar."""

    def test_many_outcomes(self) -> None:
        counts = {format(i, "06b"): 100 - i for i in range(64)}
        bars = top_outcomes(counts, keep=8)
        assert [label for label, _ in bars[:8]] == sorted(format(i, "06b") for i in range(8))
        assert bars[-1] == (OTHER, sum(100 - i for i in range(8, 64)))

    def test_few_outcomes_have_no_other(self) -> None:
        assert top_outcomes({"1": 3, "0": 5}) == [("0", 5), ("1", 3)]

    def test_png_of_many_outcomes_stays_readable(self, tmp_path: Path) -> None:
        counts = {format(i, "010b"): 1 + i % 7 for i in range(1024)}
        write_histogram(counts, "1024 outcomes", tmp_path / "h.png")
        with Image.open(tmp_path / "h.png") as image:
            assert image.width < 1200  # 32 bars and "other", not 1024


class TestReportInTheRecord:
    """If a run writes its record, report.html is in it, whole and self-contained."""

    def test_written_with_the_record(self, bell_record: Path) -> None:
        run = json.loads((bell_record / "run.json").read_text())
        html = (bell_record / "report.html").read_text()
        assert "<h2>Histograms</h2>" in html
        assert 'class="chart histogram"' in html
        assert 'class="chart timeline"' in html
        assert run["session"]["id"] in html

    def test_needs_nothing_from_the_network(self, bell_record: Path) -> None:
        html = (bell_record / "report.html").read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        assert "<script" not in html
        assert "<link" not in html

    def test_warns_of_options_not_applied_locally(self, options_record: Path) -> None:
        html = (options_record / "report.html").read_text()
        assert 'class="warn"' in html
        assert "execution.rep_delay" in html
        assert "was not applied" in html
        assert "<h2>Expectation values</h2>" in html

    def test_convergence_of_each_workload(self, everything_record: Path) -> None:
        html = (everything_record / "report.html").read_text()
        results = json.loads((everything_record / "results.json").read_text())
        (workload,) = results["workloads"]
        assert '<div class="charts" id="convergence">' in html
        assert html.count('class="chart convergence"') == 1
        points = re.search(r'<polyline class="line" points="([^"]+)"', html)
        assert points is not None
        costs = [entry for entry in workload["history"] if entry["kind"] == "cost"]
        assert len(points.group(1).split()) == len(costs)
        assert f"workload {workload['name']}" in html  # its jobs' lane in the timeline

    def test_plan_beside_what_ran(self, options_record: Path) -> None:
        html = (options_record / "report.html").read_text()
        run = json.loads((options_record / "run.json").read_text())
        assert "QPU seconds estimated" in html
        for job in run["jobs"]:
            assert job["job_id"] in html


class TestEscaping:
    """If a name, tag or option holds markup, the report shows it as text."""

    def test_markup_is_text(self) -> None:
        evil = "<script>alert(1)</script>"
        run: dict[str, object] = {
            "name": evil,
            "jobs": [{"name": evil, "job_id": evil, "status": "ERROR", "error": evil}],
            "options": [{"owner": evil, "option": "x", "value": evil, "applied": False}],
        }
        results: dict[str, object] = {
            "primitives": [
                {
                    "name": evil,
                    "pubs": [
                        {"index": 0, "circuit": evil, "registers": {evil: {"counts": {evil: 3}}}}
                    ],
                }
            ]
        }
        html = render_report(run, results)
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


class TestCommand:
    """If ``qrun report`` is given a record, it writes report.html again; else exit 1."""

    def test_re_renders(self, bell_record: Path, capsys: pytest.CaptureFixture[str]) -> None:
        (bell_record / "report.html").unlink()
        assert main(["report", str(bell_record)]) == 0
        assert (bell_record / "report.html").is_file()
        assert capsys.readouterr().out.strip() == str(bell_record / "report.html")

    def test_not_a_record(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["report", str(tmp_path)]) == 1
        error = capsys.readouterr().err
        assert error == f"qrun: {tmp_path} is not a run record: it has no run.json\n"

    def test_broken_run_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        (tmp_path / "run.json").write_text("{oops")
        assert main(["report", str(tmp_path)]) == 1
        assert "run.json is not valid JSON" in capsys.readouterr().err


@pytest.mark.slow
class TestInABrowser:
    """If the report is opened from a file, the histograms and the timeline are drawn."""

    def test_histograms_and_timeline(
        self, everything_record: Path, page: Page, tmp_path: Path
    ) -> None:
        results = json.loads((everything_record / "results.json").read_text())
        (sampler,) = [p for p in results["primitives"] if p["kind"] == "sampler"]
        outcomes = sum(
            len(register["counts"])
            for pub in sampler["pubs"]
            for register in pub["registers"].values()
        )
        page.goto((everything_record / "report.html").resolve().as_uri())
        histogram = page.locator("#histograms svg.histogram").first
        assert histogram.is_visible()
        assert page.locator("#histograms rect.bar").count() == outcomes
        assert page.locator("#convergence svg.convergence polyline.line").is_visible()
        timeline = page.locator("#timeline svg.timeline")
        assert timeline.is_visible()
        assert page.locator("#timeline rect.state-active").count() == 1
        assert page.locator("#timeline g.job-done").count() >= 2
        box = timeline.bounding_box()
        assert box is not None and box["width"] > 400
        shot = screenshot(page, tmp_path, "report.png")
        assert shot.stat().st_size > 10_000
