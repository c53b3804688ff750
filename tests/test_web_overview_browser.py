"""The overview, landing, search and entity pages in real headless Chromium: no console errors, and a
screenshot of each view under tests/artifacts/ for review (not committed; see .gitignore)."""

from __future__ import annotations

import pytest

from .conftest import ROOT
from .test_web_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401 - the module's Chromium fixture

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian packages chromium and chromium-driver (.ci/run installs them)")]
ARTIFACTS = ROOT / "tests" / "artifacts"


def _errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


PAGES = [
    ("/overview", ["resources", "budgets", "timeline", "strategy"]),
    ("/overview?lang=ja", ["resources", "budgets", "timeline", "strategy"]),
    ("/overview?lang=en", ["resources", "budgets", "timeline", "strategy"]),
    ("/", []),
    ("/?lang=en", []),
    ("/?lang=ja", []),
    ("/search?q=%E8%B6%B3%E7%AB%8B&lang=ja", []),  # 足立
    ("/search?q=%E8%B6%B3%E7%AB%8B&lang=en", []),
    ("/id/municipality/131211?lang=ja", ["picture"]),
    ("/id/municipality/131211?lang=en", ["picture"]),
    ("/id/plan/tokyo-industrial-promotion-guideline-fy2011?lang=ja", ["picture"]),
    ("/id/plan/adachi-ku-revitalization-plan-fy2021?lang=ja", ["picture"]),
    ("/id/plan/tokyo-industrial-promotion-guideline-fy2011?lang=en", ["picture"]),
    ("/id/plan/adachi-ku-revitalization-plan-fy2021?lang=en", ["picture"]),
    ("/id/law/419ac0000000039?lang=ja", ["picture"]),
    ("/id/law/411ac0000000018?lang=en", ["picture"]),
]


@pytest.mark.parametrize("path,views", PAGES)
def test_page_loads_without_console_errors_and_is_screenshotted(server, browser, path, views):  # noqa: F811
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get_log("browser")  # drop what earlier pages left
    browser.get(server.url + path)
    assert browser.find_element(By.CSS_SELECTOR, "header form.site-search input[name=q]").is_displayed()
    stem = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-").replace("%", "") or "landing"
    if path.startswith("/?"):
        stem = "landing_" + path[-2:]
    browser.save_screenshot(str(ARTIFACTS / f"{stem[:80]}.png"))
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(height, 900), 8000))  # the whole page, as a reader scrolls it
    try:
        browser.save_screenshot(str(ARTIFACTS / f"{stem[:80]}-full.png"))
    finally:
        browser.set_window_size(1280, 900)
    for view in views:
        element = browser.find_element(By.ID, view) if view != "picture" else browser.find_element(
            By.CSS_SELECTOR, "section.picture")
        browser.execute_script("arguments[0].scrollIntoView()", element)
        element.screenshot(str(ARTIFACTS / f"{stem[:80]}-{view}.png"))
        svg = element.find_element(By.CSS_SELECTOR, "svg")
        assert svg.size["width"] > 100 and svg.size["height"] > 40  # drawn, not collapsed
    assert _errors(browser) == [], path


def test_search_box_goes_to_the_entity(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for lang, name in (("ja", "台東区"), ("en", "Taito-ku")):
        browser.get(server.url + f"/overview?lang={lang}")
        box = browser.find_element(By.CSS_SELECTOR, "header form.site-search input[name=q]")
        box.send_keys("たいとうく\n")  # the kana reading of 台東区
        WebDriverWait(browser, 20).until(lambda d: "/id/municipality/131067" in d.current_url)
        assert browser.find_element(By.TAG_NAME, "h1").text == name  # in the language chosen with the switch
    assert _errors(browser) == []


def test_open_in_query_editor_runs_the_saved_query(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/overview")
    browser.get(browser.find_element(By.CSS_SELECTOR, "#budgets a.open-editor").get_attribute("href"))
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tbody tr")) > 0)
    assert "budgets-by-area-fy2009" not in browser.current_url  # the query text itself, not a name
    assert "SUM(?amount)" in browser.find_element(By.ID, "query").get_attribute("value")
    assert _errors(browser) == []
