"""The web console in a real browser: Debian's headless Chromium driven by selenium.

One server with `demo --complaints 200` data, started from COMPLAINTFLOW_BIN on free
ports. A dealer, a CAC agent and an auditor sign in with tokens of the token file, open
each page and check what they see; the CAC agent records a contact attempt from a
complaint's page and finds it in the timeline; the language is switched; the browser's
console must hold no SEVERE entry. Screenshots of the queue, a complaint page and the
statistics page go to CONSOLE_SCREENSHOTS (default docs/screenshots).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

BIN = os.environ.get("COMPLAINTFLOW_BIN", "target/debug/complaintflow")
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", "docs/screenshots"))


def run(*args: str) -> str:
    done = subprocess.run([BIN, *args], check=True, capture_output=True, text=True, timeout=600)
    return done.stdout


class Demo:
    """A demo data directory, its tokens, and a running server."""

    def __init__(self, root: Path):
        self.data = root / "data"
        self.tokens_file = root / "tokens.toml"
        guide = run("demo", "--data-dir", str(self.data), "--complaints", "200")
        self.regions: dict[str, list[str]] = {}
        for line in guide.splitlines():
            match = re.match(r"^  ([A-Z]+)\s+((?:[A-Z]{2}-\d{4}\s*)+)$", line)
            if match:
                self.regions[match.group(1)] = match.group(2).split()
        self.issue = ["token", "issue", "--tokens", str(self.tokens_file)]
        self.auditor_token = run(*self.issue, "--identity", "audit-1", "--role", "auditor").strip()
        self.log = open(root / "server.log", "w")
        self.process = subprocess.Popen(
            [BIN, "serve", "--data-dir", str(self.data), "--tokens", str(self.tokens_file),
             "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--no-metrics"],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.base = None
        deadline = time.monotonic() + 300
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.match(r"complaintflow console at (http://\S+)/$", line.strip())
            if match:
                self.base = match.group(1)
                break
        assert self.base, f"no console address; server log in {root / 'server.log'}"
        with urllib.request.urlopen(f"{self.base}/readyz", timeout=30) as ready:
            assert ready.status == 200
        # The dealer and CAC of the tests: those of the first open complaint in the
        # auditor's queue (some demo dealers have closed every case).
        queue = self.signed_in(self.auditor_token).open(f"{self.base}/", timeout=60).read().decode()
        match = re.search(r'data-dealer="([^"]+)" data-region="([^"]+)"', queue)
        assert match, queue
        self.dealer, self.region = match.group(1), match.group(2)
        self.dealer_token = run(*self.issue, "--identity", f"dms-{self.dealer.lower()}", "--role", "dealer",
                                "--dealer", self.dealer, "--region", self.region).strip()
        self.cac_identity = f"cac-{self.region.lower()}"
        self.cac_token = run(*self.issue, "--identity", self.cac_identity, "--role", "cac",
                             "--region", self.region).strip()
        # A running server puts a changed token file in force within a second or so.
        deadline = time.monotonic() + 30
        while True:
            try:
                self.signed_in(self.dealer_token)
                self.signed_in(self.cac_token)
                break
            except AssertionError:
                assert time.monotonic() < deadline, "the new tokens never took effect"
                time.sleep(0.2)

    def signed_in(self, token: str) -> urllib.request.OpenerDirector:
        """A plain HTTP client with a session of `token`."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = opener.open(f"{self.base}/sign-in", timeout=30).read().decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        body = urllib.parse.urlencode({"token": token, "csrf": csrf}).encode()
        try:
            page = opener.open(f"{self.base}/sign-in", data=body, timeout=30).read().decode()
        except urllib.error.HTTPError as refused:
            raise AssertionError(f"sign-in refused: {refused.code}") from refused
        assert 'id="identity"' in page, page
        return opener

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.log.close()
        return code


@pytest.fixture(scope="module")
def demo():
    root = Path(tempfile.mkdtemp(prefix="complaintflow-browser-"))
    server = Demo(root)
    yield server
    assert server.stop() == 0
    shutil.rmtree(root, ignore_errors=True)


def chromium_paths() -> tuple[str, str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert binary and Path(driver).exists(), "chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
    return binary, driver


@pytest.fixture
def browser():
    binary, driver_path = chromium_paths()
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def severe(driver) -> list:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def go_by(driver, element) -> None:
    """Clicks a link or a form's button and waits for the page it loads. A click returns
    before a form's navigation has always replaced the document, and the old page may
    hold an element of the same id (an audit's outcome banner): read only the new one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def sign_in(driver, demo: Demo, token: str) -> None:
    driver.get(f"{demo.base}/sign-in")
    driver.find_element(By.NAME, "token").send_keys(token)
    go_by(driver, driver.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]"))
    assert driver.find_element(By.ID, "identity"), driver.page_source


def queue_rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#queue tbody tr")


def switch_language(driver, to: str) -> None:
    go_by(driver, driver.find_element(By.ID, "switch-language"))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == to


BEIJING = dt.timezone(dt.timedelta(hours=8))


def a_call_time_after(filed: dt.datetime) -> dt.datetime | None:
    """The latest past minute within the default policy's calling hours (09:00-21:00 in
    Beijing) that is after the filing, or None: whenever the suite runs, the call it
    records keeps to the rules."""
    at = dt.datetime.now(BEIJING).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    if not 9 <= at.hour < 21:
        evening = at.date() if at.hour >= 21 else at.date() - dt.timedelta(days=1)
        at = dt.datetime.combine(evening, dt.time(20, 30), BEIJING)
    return at if at > filed + dt.timedelta(minutes=1) else None


def shot(driver, name: str) -> None:
    """The whole page, not only the window (Chromium's DevTools protocol)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    image = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png",
        "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1400, "height": min(height, 3000), "scale": 1},
    })
    (SCREENSHOTS / name).write_bytes(base64.b64decode(image["data"]))


def test_a_dealer_sees_its_own_complaints_only(demo, browser):
    sign_in(browser, demo, demo.dealer_token)
    rows = queue_rows(browser)
    assert rows, browser.page_source
    assert {row.get_attribute("data-dealer") for row in rows} == {demo.dealer}
    assert not browser.find_elements(By.LINK_TEXT, "审计")
    # Every tab of the queue holds only this dealer's complaints.
    for view in ("unanswered", "at-risk", "overdue", "unreachable", "waiting"):
        browser.get(f"{demo.base}/?view={view}")
        assert {row.get_attribute("data-dealer") for row in queue_rows(browser)} <= {demo.dealer}
    browser.get(f"{demo.base}/")
    go_by(browser, queue_rows(browser)[0].find_element(By.CSS_SELECTOR, "td a"))
    assert demo.dealer in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert browser.find_element(By.ID, "chain").get_attribute("class") == "badge good"
    browser.get(f"{demo.base}/statistics")
    dealers = browser.find_element(By.CSS_SELECTOR, "#chart-dealers svg").text
    assert demo.dealer in dealers
    others = [code for codes in demo.regions.values() for code in codes if code != demo.dealer]
    page = browser.page_source
    assert not [code for code in others if code in page]
    assert not severe(browser)


def test_a_cac_agent_records_a_contact_attempt_and_switches_language(demo, browser):
    sign_in(browser, demo, demo.cac_token)
    rows = queue_rows(browser)
    assert rows
    assert {row.get_attribute("data-region") for row in rows} == {demo.region}
    counts = browser.find_element(By.ID, "counts").text
    assert "未回复" in counts and "已超时" in counts
    shot(browser, "queue.png")

    # A complaint still open, from the queue: record on its page a call made earlier,
    # at a time within calling hours (the form takes the call's own time).
    links = [row.find_element(By.CSS_SELECTOR, "td a").get_attribute("href") for row in rows]
    for link in links:
        browser.get(link)
        filed = dt.datetime.fromisoformat(browser.find_element(By.ID, "filed-at").get_attribute("data-time"))
        called_at = a_call_time_after(filed)
        if called_at is not None:
            break
    assert called_at is not None, "no complaint in the queue was filed before the last calling hour"
    complaint_url = browser.current_url.split("?")[0]
    before = int(browser.find_element(By.ID, "version").text)
    form = browser.find_element(By.ID, "step-contact-attempt")
    form.find_element(By.CSS_SELECTOR, "select[name=purpose] option[value='2']").click()
    form.find_element(By.NAME, "answered").click()
    form.find_element(By.NAME, "note").send_keys("浏览器测试：已告知客户进度")
    # A datetime-local input takes its value from script, as a date picker would set it.
    browser.execute_script(
        "arguments[0].value = arguments[1]",
        form.find_element(By.NAME, "called_at"),
        called_at.strftime("%Y-%m-%dT%H:%M"),
    )
    go_by(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    banners = browser.find_elements(By.CSS_SELECTOR, "p.banner")
    assert [b.get_attribute("id") for b in banners] == ["done"], [b.text for b in banners]
    assert int(browser.find_element(By.ID, "version").text) == before + 1
    last = browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")[-1]
    assert last.get_attribute("data-type") == "complaint.contact_attempted"
    assert f"cac_agent:{demo.cac_identity}" in last.find_element(By.CSS_SELECTOR, "td.actor").text
    assert "浏览器测试：已告知客户进度" in last.text
    shot(browser, "complaint.png")

    # The complaint as it was before the call.
    browser.get(f"{complaint_url}?version={before}")
    assert browser.find_element(By.ID, "historical")
    assert not browser.find_elements(By.ID, "actions")

    browser.get(f"{demo.base}/statistics")
    charts = browser.find_elements(By.CSS_SELECTOR, ".chart svg")
    assert len(charts) >= 7
    assert browser.find_element(By.ID, "total").text != "0"
    shot(browser, "statistics.png")

    # English, kept across pages; and back. The switch is a form: wait for the new page
    # rather than read the old one's heading.
    switch_language(browser, "en")
    assert "Annual analysis" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(f"{demo.base}/")
    assert "Open complaints" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    switch_language(browser, "zh-CN")
    assert "未结案投诉" in browser.find_element(By.TAG_NAME, "h1").text
    assert not severe(browser)


def test_an_auditor_reads_and_verifies_and_can_change_nothing(demo, browser):
    sign_in(browser, demo, demo.auditor_token)
    regions = {row.get_attribute("data-region") for row in queue_rows(browser)}
    assert len(regions) > 1, "an auditor sees every region"
    go_by(browser, queue_rows(browser)[0].find_element(By.CSS_SELECTOR, "td a"))
    assert browser.find_element(By.ID, "timeline")
    assert not browser.find_elements(By.ID, "actions")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action*='/actions/']")
    go_by(browser, browser.find_element(By.LINK_TEXT, "审计"))
    go_by(browser, browser.find_element(By.CSS_SELECTOR, "#verify button"))
    assert "banner good" in browser.find_element(By.ID, "outcome").get_attribute("class")
    go_by(browser, browser.find_element(By.CSS_SELECTOR, "#digest-form button"))
    digest = browser.find_element(By.ID, "digest").text
    position, head_hash = digest.split(":")
    browser.find_element(By.CSS_SELECTOR, "#check input[name=position]").send_keys(position)
    browser.find_element(By.CSS_SELECTOR, "#check input[name=head_hash]").send_keys(head_hash)
    go_by(browser, browser.find_element(By.CSS_SELECTOR, "#check button"))
    assert "banner good" in browser.find_element(By.ID, "outcome").get_attribute("class")
    # The export is a download; its first line is JSON.
    export_link = browser.find_element(By.CSS_SELECTOR, "#export").get_attribute("action")
    assert export_link.endswith("/audit/export")
    with demo.signed_in(demo.auditor_token).open(export_link, timeout=60) as export:
        assert "attachment" in export.headers["Content-Disposition"]
        first = json.loads(export.readline())
        assert first["event_type"] == "complaint.filed"
    assert not severe(browser)
