"""The dashboard in a real browser (Debian's chromium through Playwright), over a collector
filled by signed ingests: log in, filter, follow a link, download the CSV, and a device
named `<script>alert(1)</script>` shows as text (no dialog). Screenshots for a human in
test-output/collector/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.auth import Auth
from tests.collector.fill import fleet_school
from tests.collector.live import LiveCollector, uai

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "collector"
PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
A, B, C = uai(782001), uai(782002), uai(782003)


def _need_chromium() -> None:
    if CHROMIUM.exists() and shutil.which(str(CHROMIUM)):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt install chromium); browser tests skipped")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCollector]:
    """SQLite only: the browser checks pages, the backends are covered by the other tests."""
    server = LiveCollector(tmp_path_factory.mktemp("browser")).start()
    Auth(server.engine, server.config.auth).add_user("admin", PASSWORD)
    fleet_school(server, A, name="École Jaurès", commune="Lyon", size="medium", device_name=XSS)
    fleet_school(
        server,
        B,
        name="École Curie",
        commune="Lyon",
        size="small",
        minimum="fail",
        median=4.0,
        wifi="not_met",
    )
    fleet_school(
        server, C, name="École Zola", commune="Bron", size="large", desirable="pass", median=120.0
    )
    yield server
    server.close()


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import Dialog, sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="fr-FR"
        )
        tab = context.new_page()
        dialogs: list[str] = []

        def record(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        tab.on("dialog", record)
        tab.dialogs = dialogs  # type: ignore[attr-defined]
        yield tab
        context.close()
        browser.close()


def test_login_filter_follow_download(live: LiveCollector, page: Any) -> None:
    page.goto(live.url + "/fleet")
    assert "/login" in page.url  # never public
    page.screenshot(path=str(OUTPUT / "login.png"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/fleet")
    assert page.locator("#fleet tbody tr").count() == 3
    page.screenshot(path=str(OUTPUT / "fleet.png"), full_page=True)

    page.fill("input[name=commune]", "Lyon")
    page.select_option("select[name=alert]", "wifi_on")
    page.click("#apply-filters")
    page.wait_for_url("**alert=wifi_on**")
    rows = page.locator("#fleet tbody tr")
    assert rows.count() == 1 and B in rows.first.inner_text()
    page.screenshot(path=str(OUTPUT / "fleet-filtered.png"), full_page=True)

    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    saved = OUTPUT / "schools.csv"
    download.save_as(str(saved))
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("uai,") and len(lines) == 2 and lines[1].startswith(B)

    page.click(f'#fleet a[href^="/schools/{B}"]')
    page.wait_for_url(f"**/schools/{B}")
    assert page.locator("svg.chart").count() == 1
    assert "Il manque un scanner" in page.content()
    page.screenshot(path=str(OUTPUT / "school.png"), full_page=True)


def test_a_script_in_a_device_name_is_text(live: LiveCollector, page: Any) -> None:
    page.goto(live.url + f"/schools/{A}")
    if "/login" in page.url:  # the module's session may be absent when run alone
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/schools/{A}")
    assert page.get_by_text(XSS).count() >= 1  # shown as text
    assert page.dialogs == []
    assert page.locator("script").count() == 0
    page.screenshot(path=str(OUTPUT / "school-xss.png"), full_page=True)


def test_readable_on_a_phone(live: LiveCollector, page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live.url + "/fleet?lang=en")
    if "/login" in page.url:
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/fleet**")
    assert "School fleet" in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # the table scrolls inside its box, the page does not
    page.screenshot(path=str(OUTPUT / "fleet-phone.png"), full_page=True)
