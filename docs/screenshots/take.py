"""Screenshots of the overview of a running server in headless Chromium (Debian chromium, chromium-driver).

    python docs/screenshots/take.py http://127.0.0.1:8000 docs/screenshots nation-1m /overview "/overview?prefecture=13"

Each path gives ``PREFIX-NAME.png`` (the first screen, 1280×900), ``PREFIX-NAME-full.png`` (the whole page,
as a reader scrolls it, at most 8000 px high) and ``PREFIX-NAME-SECTION.png`` for each chart at its own size;
the browser's console errors are printed and make the exit code 1.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main(root: str, folder: str, prefix: str, paths: list[str]) -> int:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    profile = tempfile.mkdtemp(prefix="kg-shots-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,900", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    errors = 0
    try:
        for path in paths:
            name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "landing"
            driver.set_window_size(1280, 900)
            driver.get(root.rstrip("/") + path)
            driver.save_screenshot(str(Path(folder) / f"{prefix}-{name}.png"))
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(max(height, 900), 8000))
            driver.save_screenshot(str(Path(folder) / f"{prefix}-{name}-full.png"))
            for figure in driver.find_elements(By.CSS_SELECTOR, "section.view figure.view-chart"):
                section = figure.find_element(By.XPATH, "./ancestor::section[1]").get_attribute("id")
                driver.execute_script("arguments[0].scrollIntoView()", figure)
                figure.screenshot(str(Path(folder) / f"{prefix}-{name}-{section}.png"))
            for entry in driver.get_log("browser"):
                if entry["level"] in ("SEVERE", "ERROR"):
                    print(path, entry["message"])
                    errors += 1
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
