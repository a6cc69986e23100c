"""A real headless Chromium for browser tests, driven by Playwright.

The browser is the system's (Debian's ``chromium`` package, found on ``PATH``); Playwright's
own browser downloads are never used. Without it a browser test is skipped with the reason
shown, unless ``QRUN_REQUIRE_BROWSER`` is set (CI sets it): then the test fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

__all__ = ["REQUIRE_BROWSER", "SCREENSHOT_COPY", "browser", "page", "screenshot"]

#: Set (to anything but empty or 0) where browser tests must run, not skip.
REQUIRE_BROWSER = "QRUN_REQUIRE_BROWSER"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER, "") not in ("", "0"):
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER} says browser tests must run")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless system Chromium, one per test module."""
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("no chromium on PATH (install Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install 'qiskit-qrun[browser]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page 1100 pixels wide; it is closed after the test."""
    opened = browser.new_page(viewport={"width": 1100, "height": 900})
    yield opened
    opened.close()


#: A folder to copy screenshots into as well (used to refresh the README's images).
SCREENSHOT_COPY = "QRUN_SCREENSHOT_DIR"


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """A full-page PNG of ``page`` in ``folder`` (a test's tmp folder, kept by CI), and in
    ``$QRUN_SCREENSHOT_DIR`` too when that is set."""
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    copy = os.environ.get(SCREENSHOT_COPY)
    if copy:
        shutil.copyfile(path, Path(copy) / name)
    return path
