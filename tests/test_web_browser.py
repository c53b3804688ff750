"""The query page in real headless Chromium (Debian chromium + chromium-driver): type, run, see rows."""

from __future__ import annotations

import shutil
import tempfile

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian packages chromium and chromium-driver (.ci/run installs them)")]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="kg-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


def test_type_a_query_run_it_and_see_rows(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    textarea = browser.find_element(By.ID, "query")
    assert "PREFIX kgo:" in textarea.get_attribute("value")  # prefixes pre-filled
    textarea.clear()
    textarea.send_keys("PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>\n"
                       "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                       "SELECT ?r ?name WHERE { ?r kgo:area <https://w3id.org/tokyo-sme-kg/id/municipality/134210> ; "
                       "rdfs:label ?name } ORDER BY ?name")
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tbody tr")) > 0)
    rows = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert len(rows) == 5  # 小笠原村: 島レモン, パッションフルーツ, くじらの来遊域, いるかの来遊域, 南島
    text = browser.find_element(By.ID, "results").text
    assert "島レモン" in text and "南島" in text
    link = browser.find_element(By.CSS_SELECTOR, "#results tbody a")
    assert link.get_attribute("href").startswith(server.url + "/id/regional-resource/")  # clickable, local
    downloads = browser.find_element(By.ID, "downloads")
    assert downloads.is_displayed() and "format=csv" in downloads.find_element(
        By.CSS_SELECTOR, "a[data-format=csv]").get_attribute("href")
    browser.save_screenshot(str(tmp_path / "query-page.png"))


def test_errors_are_shown_plainly(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    textarea = browser.find_element(By.ID, "query")
    textarea.clear()
    textarea.send_keys("SELECT ?s WHERE { ?s ?p }")
    browser.find_element(By.ID, "run").click()
    error = _wait(browser, lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed() else None)
    assert "400" in error.text


def test_saved_query_loads_into_editor(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server.url + "/")
    Select(browser.find_element(By.ID, "saved")).select_by_value("shared-resources")
    assert "HAVING" in browser.find_element(By.ID, "query").get_attribute("value")


def test_label_with_markup_is_shown_not_run(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    textarea = browser.find_element(By.ID, "query")
    textarea.clear()
    textarea.send_keys('SELECT ?x WHERE { BIND("<img src=x onerror=\\"document.title=\'pwned\'\\"><script>document.title=\'pwned\'</script>" AS ?x) }')
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tbody tr")) > 0)
    assert "<script>" in browser.find_element(By.CSS_SELECTOR, "#results tbody td").text
    assert browser.title != "pwned"


@pytest.fixture(scope="module")
def hostile_label_server(tmp_path_factory, settings):
    """A server over a build whose resource label holds markup and script."""
    import shutil as sh

    from kg.pipeline.builder import build

    from .webserver import Server
    base = tmp_path_factory.mktemp("xss")
    data = base / "data"
    sh.copytree(settings.data_dir, data)
    table = data / "regional_resources.csv"
    text = table.read_text(encoding="utf-8")
    evil = '"<script>document.title=\'pwned\'</script><img src=x onerror=""document.title=\'pwned\'"">"'
    table.write_text(text.replace(",練馬大根,", f",{evil},", 1), encoding="utf-8")
    dist = base / "dist"
    build(settings.with_overrides(data_dir=data), dist, reason=False, validate=False)
    srv = Server(dist, base / "log.txt")
    yield srv
    srv.stop()


def test_entity_page_shows_markup_in_labels_as_text(hostile_label_server, browser):
    from selenium.webdriver.common.by import By

    browser.get(hostile_label_server.url + "/id/regional-resource/nerimadaikon")
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("<script>document.title='pwned'</script>")
    assert browser.title.startswith("<script>")  # shown as text in the title too; no script changed it
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")
    browser.get(hostile_label_server.url + "/id/municipality/131202")  # the label appears as a neighbour too
    assert "<script>document.title='pwned'</script>" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.title != "pwned"
