"""Open the built book (_build/html) in headless Chromium, with every host but this machine blocked: every
chapter renders with its figures (or a note naming the runs a figure still needs), the equations render
from the book's own MathJax, and the index explorer's sliders work in the static page, with no kernel.

Run `make book` first; `make browser-test` installs Debian's chromium and chromium-driver if missing.
"""

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HTML = Path(__file__).resolve().parents[1] / "_build" / "html"
CHAPTERS = [
    "intro",
    "scorecard",
    "methods",
    "selectivity_index",
    "regularizer",
    "reducing",
    "cca",
    "increasing",
    "dead_units",
    "precision",
    "robustness",
    "resnet_vs_vgg",
    "reproducing",
    "glossary",
    "references",
]
NOT_NOTEBOOKS = {"glossary", "references"}  # plain pages: nothing executed, nothing to download
WITH_FIGURES = {
    "scorecard": 12,
    "reducing": 5,
    "cca": 2,
    "increasing": 7,
    "dead_units": 5,
    "precision": 4,
    "robustness": 7,
    "resnet_vs_vgg": 14,
    "regularizer": 1,
    "methods": 3,
}


@pytest.fixture(scope="module")
def site():
    if not (HTML / "book" / "intro.html").is_file():
        pytest.fail("no built book in _build/html: run `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
        "--window-size=1200,900",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no network: nothing from a CDN
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, read after each page
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_with_figures(site, browser, chapter):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{site}/book/{chapter}.html")
    article = browser.find_element(By.CSS_SELECTOR, "article")
    assert article.find_element(By.TAG_NAME, "h1").text.strip()
    text = article.text
    for bad in ("Traceback", "Error", "Exception"):
        assert bad not in text, f"{chapter}: '{bad}' in the page"
    images = article.find_elements(By.CSS_SELECTOR, "img")
    loaded = [
        img
        for img in images
        if browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 100", img)
    ]
    assert len(loaded) == len(images), f"{chapter}: {len(images) - len(loaded)} images did not load"
    # A figure whose runs are missing is a sentence that names them ("... not drawn yet. It needs ...").
    notes = text.count("not drawn yet")
    assert len(loaded) + notes >= WITH_FIGURES.get(chapter, 0), f"{chapter}: {len(loaded)} figures, {notes} notes"
    # Captions name the paper's figures ("The paper's Figure 3a"); a running "Fig. 18" before them would not.
    assert not article.find_elements(By.CSS_SELECTOR, ".caption-number"), f"{chapter}: figures numbered by the book"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"{chapter}: console errors {errors}"


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c not in NOT_NOTEBOOKS])
def test_download_menu_offers_the_executed_notebook(site, browser, chapter):
    import json
    import urllib.request

    browser.get(f"{site}/book/{chapter}.html")
    menu = browser.find_elements(By.CSS_SELECTOR, ".dropdown-download-buttons a.dropdown-item")
    labels = [a.get_attribute("textContent").strip() for a in menu]  # hidden until opened: not .text
    assert labels[:1] == [".ipynb"], labels
    with urllib.request.urlopen(menu[0].get_attribute("href")) as response:
        notebook = json.loads(response.read())
    assert any(c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code"), f"{chapter}: no outputs"


def test_equations_render_offline_from_the_books_own_mathjax(site, browser):
    browser.get(f"{site}/book/regularizer.html")
    script = "return document.querySelectorAll('mjx-container').length"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(script) >= 5)
    article = browser.find_element(By.CSS_SELECTOR, "article")
    assert "\\mathcal" not in article.text and "\\frac" not in article.text  # no raw LaTeX left
    sources = browser.execute_script("return [...document.scripts].map(s => s.src).filter(s => s)")
    assert any("/mathjax/es5/tex-mml-chtml.js" in src for src in sources), sources
    assert all(src.startswith(site) for src in sources), [s for s in sources if not s.startswith(site)]


def test_explorer_slider_changes_the_index_in_the_static_page(site, browser):
    browser.get(f"{site}/book/selectivity_index.html")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".si-explorer [data-role='si']"))

    def shown_index() -> float:  # the readout is redrawn on every change: look it up each time
        return float(browser.find_element(By.CSS_SELECTOR, ".si-explorer [data-role='si']").text)

    picker = browser.find_element(By.CSS_SELECTOR, ".si-explorer select[data-role='preset']")
    browser.execute_script("arguments[0].value = 'uniform'; arguments[0].dispatchEvent(new Event('change'))", picker)
    assert shown_index() == 0.0
    explorer = browser.find_element(By.CSS_SELECTOR, ".si-explorer")
    assert explorer.find_element(By.CSS_SELECTOR, "[data-role='preferred']").text.startswith("none")  # all tie
    labels = [
        e.get_attribute("textContent") for e in explorer.find_elements(By.CSS_SELECTOR, "[data-role='class-label']")
    ]
    assert labels[:2] == ["airplane", "automobile"] and len(labels) == 10  # the bars are named
    assert explorer.find_elements(By.CSS_SELECTOR, "[data-role='mu-max line']")
    assert explorer.find_elements(By.CSS_SELECTOR, "[data-role='mu-rest line']")
    slider = browser.find_elements(By.CSS_SELECTOR, ".si-explorer input[type='range']")[3]
    slider.click()  # focus it, then move it with the keyboard as a reader would
    for _ in range(30):
        slider.send_keys("\ue014")  # arrow right: +0.01 per press
    value = float(slider.get_attribute("value"))
    assert value != 0.5 and shown_index() > 0  # the reader moved it, and the index moved off 0
    # the page computes what the library computes: uniform 0.5 with one class raised to `value`
    assert shown_index() == pytest.approx((value - 0.5) / (value + 0.5 + 1e-7), abs=1e-3)
    preferred = browser.find_element(By.CSS_SELECTOR, ".si-explorer [data-role='preferred']").text
    assert preferred == "cat"  # slider 3 (cat) was raised above the others
    browser.execute_script(
        "arguments[0].value = 'leaky (negative means)'; arguments[0].dispatchEvent(new Event('change'))", picker
    )
    raw = browser.find_elements(By.CSS_SELECTOR, ".si-explorer [data-role='raw']")
    shifted = browser.find_elements(By.CSS_SELECTOR, ".si-explorer [data-role='shifted']")
    assert (raw[0].text, shifted[0].text) == ("-0.30", "0.00")  # raw beside shifted: both visible


def test_executed_notebooks_download_from_the_intro(site, browser):
    import json
    import urllib.request

    browser.get(f"{site}/book/intro.html")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "article a[href$='.ipynb']")]
    assert len(links) == len(CHAPTERS) - 1 - len(NOT_NOTEBOOKS)  # every executed chapter but the intro
    for link in links:
        with urllib.request.urlopen(link) as response:
            notebook = json.loads(response.read())
        outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert outputs, f"{link} has no outputs"
        chapter = link.rsplit("/", 1)[-1].removesuffix(".ipynb")
        if chapter in WITH_FIGURES:  # the glued figures are in the download too, not only on the page
            assert any("image/png" in o.get("data", {}) for o in outputs), f"{link} has no figure"
