"""The held-mail pages in Chromium (headless), driven by selenium through
chromium-driver; run by tests/held.rs with its settings as one JSON
argument. Exits non-zero, saying why, when a page does not behave."""

import json
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

args = json.loads(sys.argv[1])

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,1000",
    "--user-data-dir=" + args["profile"],
]:
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)


def check(condition, what):
    if not condition:
        print("FAILED:", what, "\n--- page:", driver.current_url, "\n", driver.page_source[:3000])
        driver.quit()
        sys.exit(1)


def text():
    return driver.find_element(By.TAG_NAME, "body").text


def shows(*wanted):
    """Whether the page shows one of `wanted` within 10 s: a click's
    navigation may not have finished when the click returns."""
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            page = text()
            if any(w in page for w in wanted):
                return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def shot(name):
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1200, max(800, height + 40))
    driver.save_screenshot(f"{args['shots']}/{name}.png")


try:
    # The sender's page: the subject of HTML and script shown as text.
    driver.get(args["release_link"])
    check(driver.title != "pwned", "a script in the subject ran")
    subject = driver.find_element(By.ID, "subject")
    check(subject.text == args["subject"], "the subject is shown as text: " + subject.text)
    check(not driver.find_elements(By.CSS_SELECTOR, "#subject b"), "HTML in the subject became markup")
    check(shows("mass-list"), "the finding is shown")
    shot("sender")
    # Sending without a reason is stopped by the page; with one it goes.
    driver.find_element(By.ID, "reason").send_keys("The whole staff must know")
    driver.find_element(By.ID, "send").click()
    check(shows("Your message is on its way"), "released")
    # Used once: the link is now refused, in the browser too.
    driver.get(args["release_link"])
    check(shows("has been used"), "a used link is refused")

    # Forged, expired and other messages' tokens.
    release = urllib.parse.urlsplit(args["release_link"])
    token = release.path.rsplit("/", 1)[1]
    ident, expires, mac = token.split(".")
    base = args["release_link"][: -len(token)]
    driver.get(base + f"{ident}.{expires}.{'0' * len(mac)}")
    check(shows("not valid"), "a forged token is refused")
    driver.get(base + f"{int(ident) + 1}.{expires}.{mac}")
    check(shows("not valid"), "another message's token is refused")
    driver.get(args["expired_link"])
    check(shows("expired"), "an expired token is refused")

    # The sender discards the second message.
    driver.get(args["discard_link"])
    driver.find_element(By.ID, "discard").click()
    check(shows("was discarded"), "discarded")

    # A form posted without its token: the page's own form, its token removed.
    driver.get(args["admin"])
    check(shows("Sign in"), "the admin page asks for a sign-in")
    driver.execute_script("document.querySelector('input[name=csrf]').remove()")
    driver.find_element(By.ID, "name").send_keys("ann")
    driver.find_element(By.ID, "password").send_keys("correct horse")
    driver.find_element(By.ID, "signin").click()
    check(shows("no valid form token"), "a sign-in without its form token is refused")
    driver.get(args["admin"] + "/login")
    driver.find_element(By.ID, "name").send_keys("ann")
    driver.find_element(By.ID, "password").send_keys("correct horse")
    driver.find_element(By.ID, "signin").click()
    check(shows("Held per rule and day"), "signed in: " + text()[:200])

    # The admin page lists what is held, with the subject as text.
    check(driver.title != "pwned", "a script in the subject ran on the admin page")
    check(shows("For the administrator"), "the held message is listed")
    shot("admin-held")
    admin_id = args["admin_id"]
    # A release posted without its token is refused.
    driver.execute_script(
        f"document.querySelector('#release-{admin_id}').form.querySelector('input[name=csrf]').remove()"
    )
    row = driver.find_element(By.ID, f"held-{admin_id}")
    row.find_element(By.CSS_SELECTOR, "input[name=reason]").send_keys("checked")
    driver.find_element(By.ID, f"release-{admin_id}").click()
    check(shows("no valid form token"), "a release without its form token is refused")
    driver.get(args["admin"])
    row = driver.find_element(By.ID, f"held-{admin_id}")
    row.find_element(By.CSS_SELECTOR, "input[name=reason]").send_keys("Checked with Jane by phone")
    driver.find_element(By.ID, f"release-{admin_id}").click()
    check(shows(f"Message #{admin_id} released."), "the administrator released it")
    driver.get(args["admin"] + "?state=all")
    check(driver.title != "pwned", "a script ran on the full list")
    check(shows(args["subject"]), "the script subject is listed as text")
    check(shows("Checked with Jane by phone"), "the reason is in the audit log")
    check(len(driver.find_elements(By.CSS_SELECTOR, "svg rect")) >= 1, "the chart has bars")
    shot("admin")

    # Signed out, then five wrong passwords: the sixth try is told to wait.
    driver.find_element(By.CSS_SELECTOR, "header button").click()
    check(shows("Sign in"), "signed out")
    for _ in range(5):
        driver.get(args["admin"] + "/login")
        driver.find_element(By.ID, "name").send_keys("ann")
        driver.find_element(By.ID, "password").send_keys("not the password")
        driver.find_element(By.ID, "signin").click()
        # The answer, not the form the click left: the next try must not
        # cut this one short.
        check(
            shows("Wrong name or password.", "Too many failed sign-ins"),
            "a wrong password answered",
        )
    check(shows("Too many failed sign-ins: try again in 15 minutes."), "locked after five")
    shot("signin-locked")
    print("ok")
finally:
    driver.quit()
