"""Browser tests: Playwright drives Debian's Chromium against `medmine serve` (uvicorn) on a
free loopback port: log in, browse each page, filter quality, open a study, download a CSV,
run a study in the background, and check an analyst never sees a name. Screenshots of the
main pages go to reports/screenshots/.

Skipped with a reason when Playwright or /usr/bin/chromium is missing (``apt-get install
chromium``; Playwright's own browser download cannot work offline).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from .conftest import PASSWORD, REPO

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (apt-get install chromium)"
)
SHOTS = REPO / "reports" / "screenshots"


@pytest.fixture(scope="module")
def base_url(served):
    import uvicorn

    from medmine.serve import create_app

    settings, _ = served
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )  # fmt: skip
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    # "localhost" is a secure context for Chromium: it keeps the Secure session cookie
    yield f"http://localhost:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],  # fmt: skip
        )
        yield b
        b.close()


def open_as(browser, base_url, role):
    ctx = browser.new_context(accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return ctx, page, errors


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"serve_{name}.png"), full_page=False)


def test_admin_browses_every_page_filters_downloads_and_runs_a_study(browser, base_url, served):
    settings, phi = served
    ctx, page, console_errors = open_as(browser, base_url, "admin")
    assert "admin (admin)" in page.inner_text("header")
    shot(page, "home")
    pages = [("/warehouse", "Loads and reconciliation"), ("/profiles/person", "person_id"),
             ("/fraud", "provider_id"), ("/audit", "Chain verifies")]  # fmt: skip
    for path, text in pages:
        page.goto(base_url + path)
        assert text in page.inner_text("main"), path
        shot(page, path.strip("/").replace("/", "_"))
    # quality: filter by status with the form
    page.goto(f"{base_url}/quality")
    shot(page, "quality")
    total = page.locator("#quality tbody tr").count()
    page.select_option("select[name=status]", "pass")
    page.click("#quality-filter button[type=submit]")
    page.wait_for_url("**status=pass**")
    statuses = page.locator("#quality td.status").all_inner_texts()
    assert statuses and set(statuses) == {"pass"} and len(statuses) <= total
    # a study, and one of its tables downloaded as CSV
    page.goto(f"{base_url}/studies")
    page.click("text=30-day")
    shot(page, "study")
    with page.expect_download() as dl:
        page.locator("#downloads a", has_text="CSV").first.click()
    saved = Path(dl.value.path())
    assert saved.read_text().splitlines()[0].count(",") >= 1
    # the rendered report page, sandboxed, still draws its Plotly figures
    page.goto(f"{base_url}/reports/study_readmission.html")
    page.wait_for_selector("svg.main-svg", timeout=20_000)
    shot(page, "report_page")
    # the person view shows the name to an admin
    page.goto(f"{base_url}/persons/{phi['person_id']}")
    assert phi["names"][1] in page.inner_text("#person-name")
    shot(page, "person")
    assert not [e for e in console_errors if "Content Security Policy" in e]
    ctx.close()


def test_a_study_runs_in_the_background_with_progress(browser, base_url):
    ctx, page, _ = open_as(browser, base_url, "analyst")
    page.goto(f"{base_url}/studies")
    page.select_option("#run-study select[name=name]", "pharmacogenomics")
    page.click("#run-study button[type=submit]")
    page.wait_for_url("**/jobs/**")
    status = page.locator("#job-status")
    for _ in range(60):
        if status.get_attribute("data-status") in ("done", "failed"):
            break
        page.wait_for_timeout(1000)
        page.reload()
    # no genotypes in this warehouse: the job fails and says why
    assert status.get_attribute("data-status") == "failed"
    assert "genotype" in page.inner_text("main").lower()
    ctx.close()


def test_analyst_never_sees_a_name_in_the_browser(browser, base_url, served):
    _, phi = served
    ctx, page, _ = open_as(browser, base_url, "analyst")
    for path in ["/", "/warehouse", "/quality", "/profiles", "/studies", "/studies/readmission"]:
        page.goto(base_url + path)
        text = page.content()
        for name in phi["names"]:
            assert name not in text, path
    resp = page.goto(f"{base_url}/persons/{phi['person_id']}")
    assert resp.status == 403 and phi["names"][1] not in page.content()
    nav = page.inner_text("header")
    assert "Persons" not in nav and "Fraud" not in nav
    ctx.close()
