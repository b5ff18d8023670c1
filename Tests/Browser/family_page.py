#!/usr/bin/env python3
"""The family's page in a real browser (headless Chromium through Selenium), against a running kith-server.

Opens an invitation link, enters a wrong code and then the right one, reads the note written for the family and not
the professional one, in Welsh (her recorded language), answers the questions asked after a review meeting, switches
the page to English, adds progress to a plan item and sees it on the page and through the API, checks the page with
axe-core at phone and desktop widths (no serious or critical violations), then has the worker withdraw the invitation
and sees the polite page that follows. Run by FamilyPageBrowserTests; by hand with --screenshots DIR it also saves the
pictures in docs/family-page.md.

    family_page.py BASE LINK CODE TOKEN FAMILY_ID INVITATION_ID [--screenshots DIR]
"""
import argparse
import json
import sys
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

PHONE, DESKTOP = (360, 780), (1280, 900)
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def api(base, token, method, path):
    request = urllib.request.Request(base + path, method=method, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def submit(driver, button):
    """Clicks a form's button and waits for the page it leads to (a click returns before the next page loads)."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def accessible(driver, where):
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    serious = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    for violation in serious:
        print(f"     axe: {violation['id']} ({violation['impact']}): {violation['help']}", flush=True)
    check(not serious, f"axe finds no serious or critical violations on {where}")


def screenshot(driver, folder, name, size):
    if not folder:
        return
    width, _ = size
    driver.set_window_size(width, size[1])
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, size[1]), 4000))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(f"{folder}/{name}")
    driver.set_window_size(*size)


def main():
    parser = argparse.ArgumentParser()
    for name in ("base", "link", "code", "token", "family_id", "invitation_id"):
        parser.add_argument(name)
    parser.add_argument("--screenshots")
    args = parser.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={PHONE[0]},{PHONE[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    try:
        driver.get(args.link)
        check(driver.find_element(By.TAG_NAME, "h1").text == "Your family's page", "the link opens the code page")
        accessible(driver, "the code page (phone)")
        screenshot(driver, args.screenshots, "family-page-code-phone.png", PHONE)

        wrong = "000000" if args.code != "000000" else "111111"
        driver.find_element(By.ID, "code").send_keys(wrong)
        submit(driver, driver.find_element(By.CSS_SELECTOR, "form button"))
        alert = driver.find_elements(By.CSS_SELECTOR, "[role=alert]")
        check(bool(alert) and "did not match" in alert[0].text, "a wrong code is told so, politely")
        accessible(driver, "the wrong-code page (phone)")

        driver.find_element(By.ID, "code").send_keys(args.code[:3] + " " + args.code[3:])
        submit(driver, driver.find_element(By.CSS_SELECTOR, "form button"))
        check(driver.current_url.endswith("/family"), "the right code opens the family's page")
        body = driver.find_element(By.TAG_NAME, "body").text
        check("Amy showed me her reading book." in body, "the note written for the family is there")
        check("Professional judgment words." not in body, "the professional note is not")
        check("Restricted words." not in body, "the restricted note is not")
        check(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"),
              "nothing is wider than a 360-pixel phone's screen")
        # Her language is recorded as Welsh: the page is in Welsh, and after the review meeting it asks her three
        # questions, which she answers anonymously, with her words of what got in the way.
        check(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "cy", "her page is in Welsh (<html lang=cy>)")
        check("Cynllun eich teulu" in body and "Wedi'i ysgrifennu i chi" in body, "its headings are Welsh")
        check("Oeddech chi'n teimlo bod rhywun yn gwrando arnoch chi?" in body, "it asks whether she felt listened to, in Welsh")
        accessible(driver, "the family's page in Welsh, asking (phone)")
        screenshot(driver, args.screenshots, "family-page-welsh-phone.png", PHONE)
        driver.find_element(By.CSS_SELECTOR, "input[name=listened][value='4']").click()
        driver.find_element(By.CSS_SELECTOR, "input[name=workerTalk][value='0']").click()
        driver.find_element(By.ID, "verdict-words").send_keys("Roedd y bws i'r cyfarfod yn ddrud")
        submit(driver, driver.find_element(By.CSS_SELECTOR, "button[name=choice][value=send]"))
        thanks = driver.find_elements(By.CSS_SELECTOR, "[role=status]")
        check(bool(thanks) and "Diolch am ddweud wrthym ni." in thanks[0].text, "the page thanks her in Welsh")
        check(not driver.find_elements(By.ID, "your-say"), "and asks no more")
        accessible(driver, "the family's page in Welsh, answered (phone)")
        switch = driver.find_element(By.CSS_SELECTOR, "p.language a")
        check(switch.text == "English" and switch.get_attribute("lang") == "en", "a link offers the page in English")
        submit(driver, switch)
        check(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en-GB", "which the link switches to")
        accessible(driver, "the family's page (phone)")

        words = "I picked Amy up from school every day this week"
        item = driver.find_element(By.CSS_SELECTOR, "ol.items > li")
        item.find_element(By.TAG_NAME, "textarea").send_keys(words)
        submit(driver, item.find_element(By.TAG_NAME, "button"))
        thanks = driver.find_elements(By.CSS_SELECTOR, "[role=status]")
        check(bool(thanks) and "Thank you" in thanks[0].text, "the page thanks her")
        item = driver.find_element(By.CSS_SELECTOR, "ol.items > li")
        check(words in item.text, "her words are on her plan item")
        screenshot(driver, args.screenshots, "family-page-phone.png", PHONE)
        timeline = api(args.base, args.token, "GET", f"/v1/families/{args.family_id}/timeline")
        check(any(entry.get("kind") == "planItemUpdate" and entry.get("detail") == words and entry.get("personId")
                  for entry in timeline["items"]), "the worker sees her words, as hers, through the API")

        driver.set_window_size(*DESKTOP)
        accessible(driver, "the family's page (desktop)")
        screenshot(driver, args.screenshots, "family-page-desktop.png", DESKTOP)
        driver.set_window_size(*PHONE)

        api(args.base, args.token, "POST", f"/v1/invitations/{args.invitation_id}/revoke")
        driver.get(args.base + "/family")
        heading = driver.find_element(By.TAG_NAME, "h1").text
        check(heading == "This page is no longer open to you", "a withdrawn invitation closes the page, politely")
        driver.get(args.link)
        check(driver.find_element(By.TAG_NAME, "h1").text == "This invitation has been withdrawn", "and its link says why")
        accessible(driver, "the withdrawn-invitation page (phone)")
        screenshot(driver, args.screenshots, "family-page-withdrawn-phone.png", PHONE)
    finally:
        driver.quit()
    print(f"{len(failures)} of the browser checks failed" if failures else "every browser check passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
