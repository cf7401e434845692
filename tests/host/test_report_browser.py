"""The HTML report in a real headless browser: Debian's chromium, driven by playwright.

Skipped locally when chromium or playwright is missing; in CI (``$CI`` set, as .ci/run does) that is a
failure, because .ci/run installs chromium.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hipsense.report import figures
from hipsense.report.html import render_session, write_report
from hipsense.report.sources import from_file
from hipsense.report.trends_page import render_trends
from tests.host.report_data import short_run_file, synthetic_trends

CHROMIUM = Path(os.environ.get("HIPSENSE_CHROMIUM", "/usr/bin/chromium"))
#: No sandbox (CI runs as root) and nothing that phones home or needs a GPU.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 900}


def _unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _unavailable()
    if reason:
        if os.environ.get("CI"):  # CI installs chromium: a missing browser there is a broken setup
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


def _load(browser, path: Path) -> tuple[object, list[str], list[str]]:
    """Open a file; return the page, the errors it logged or threw, and every URL it asked for."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    urls: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: urls.append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, errors, urls


def _screenshot_checks(page, png: Path, n_figures: int, first_colours: tuple[str, ...]) -> None:
    """A full-page screenshot that is not blank, whose first figure painted ``first_colours``."""
    from PIL import Image

    page.screenshot(path=str(png), full_page=True)
    img = Image.open(png).convert("RGB")
    assert img.width == VIEWPORT["width"] and img.height > VIEWPORT["height"]  # the whole page
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200, "the screenshot is (nearly) one colour"
    background = max(colours)[0] / (img.width * img.height)
    assert background < 0.9, f"{background:.0%} of the screenshot is background"

    boxes = page.evaluate(
        "[...document.querySelectorAll('figure svg')].map(s => { const r = s.getBoundingClientRect();"
        " return [r.left, r.top + window.scrollY, r.width, r.height]; })"
    )
    assert len(boxes) == n_figures
    for *_, width, height in boxes:
        assert width > 600 and height > 150, "a figure is not laid out at a readable size"
    # The SVG really painted: the first figure's colours are among the screenshot's pixels there.
    left, top, width, height = boxes[0]
    fig = img.crop((int(left), int(top), int(left + width), int(top + height)))
    for colour in first_colours:
        target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        near = sum(
            n
            for n, c in fig.getcolors(maxcolors=1 << 20)
            if max(abs(a - b) for a, b in zip(c, target, strict=True)) < 40
        )
        assert near > 30, f"no {colour} pixels in the first figure"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page overflows"


def _no_slips(text: str) -> None:
    """The slips of issue 18 as a reader sees them in the rendered page: no "nan" (e.g. "clip: nan"),
    no bare "m:ss" that could be minutes or seconds, no impact load in plain g."""
    assert not re.search(r"\bnan\b", text, flags=re.I), "a 'nan' is shown"
    assert not re.search(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])(?! UTC)", text), "a bare m:ss duration is shown"
    assert not re.search(r"impact load[^.]*\d g(?! x)", text, flags=re.I)


def test_session_report_renders_without_errors_and_offline(browser, tmp_path):
    html = tmp_path / "session.html"
    write_report(render_session(from_file(short_run_file(tmp_path))), html)
    page, errors, urls = _load(browser, html)
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in urls), urls
    assert page.title().endswith("- hipsense")
    assert "not a medical device" in page.inner_text("footer")
    _no_slips(page.inner_text("body"))
    assert "g x steps" in page.inner_text(".cards")  # impact load is a sum over steps
    _screenshot_checks(page, tmp_path / "session.png", 3, (figures.LEFT, figures.RIGHT))


def test_trend_report_renders_without_errors_and_offline(browser, tmp_path):
    html = tmp_path / "trends.html"
    write_report(render_trends(synthetic_trends(), 8), html)
    page, errors, urls = _load(browser, html)
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in urls), urls
    assert page.locator(".flag").count() == 3
    _no_slips(page.inner_text("body"))
    _screenshot_checks(page, tmp_path / "trends.png", 3, (figures.LEFT, figures.ACCENT))


def test_the_harness_sees_errors_and_fetches(browser, tmp_path):
    # The checks above can fail: a page that throws and fetches is caught by the same harness.
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://127.0.0.1:9/x.png"><script>notDefined()</script>')
    _, errors, urls = _load(browser, bad)
    assert any("notDefined" in e for e in errors)
    assert "http://127.0.0.1:9/x.png" in urls
