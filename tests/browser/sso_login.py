#!/usr/bin/env python3
"""A real browser (headless Chromium through Selenium) signs in to tessera through a real
OpenID Connect provider (node-oidc-provider), as a user who has no password at tessera.

The user opens tessera's login page, chooses "Sign in with <provider>", signs in on the
provider's own login form, allows tessera there, and comes back to tessera's token page logged
in (provisioned on the way). There the user makes a personal access token, reads it once, and
uses it on the REST API; Basic with a password is refused for the same user, who has none.
Any failure exits non-zero with a message saying which step failed; success prints "sso: ok".

Usage: sso_login.py --url http://127.0.0.1:PORT --provider NAME --user NAME
"""

import argparse
import os
import shutil
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

from token_pages import (  # noqa: E402
    CHROMEDRIVER,
    CHROMIUM,
    Failure,
    api_status,
    basic,
    check,
    create_token,
    csp_violations,
    myself,
    new_browser,
    step,
    wait,
    wait_for_path,
)


def sso_flow(driver, base, provider, user):
    base_path = urllib.parse.urlparse(base).path
    step("open the login page and choose the provider")
    driver.get(f"{base}/login?next=/secure/tokens")
    links = driver.find_elements(By.PARTIAL_LINK_TEXT, f"Sign in with {provider}")
    check(len(links) == 1, f"the login page offers no 'Sign in with {provider}'")
    links[0].click()

    step("sign in on the provider's own form")
    wait(driver).until(EC.presence_of_element_located((By.NAME, "login")))
    check(not driver.current_url.startswith(base), f"still at tessera: {driver.current_url}")
    driver.find_element(By.NAME, "login").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys("any password the provider takes")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    step("allow tessera at the provider")
    wait(driver).until(
        lambda d: d.current_url.startswith(base) or d.find_elements(By.CSS_SELECTOR, "input[name=prompt][value=consent]")
    )
    if not driver.current_url.startswith(base):
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    step("back at tessera, signed in")
    wait_for_path(driver, base_path + "/secure/tokens")
    body = driver.find_element(By.TAG_NAME, "body").text
    check(user in body, f"the token page does not name {user}")

    step("make a personal access token and use it")
    field = create_token(driver, "made after single sign-on", "READ", 7)
    raw = field.get_attribute("value")
    check(raw and raw.startswith("tspat_"), f"#raw-token holds {raw!r}")
    status, me = api_status(base, raw)
    check(status == 200 and me and me.get("name") == user, f"the token gave {status}: {me}")

    step("no password login for a user who has none")
    status, _ = myself(base, basic(user, ""))
    check(status == 401, f"Basic with an empty password gave {status}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--user", required=True)
    args = parser.parse_args()
    base = args.url.rstrip("/")

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            print(f"FAIL: {path} is missing (install Debian's chromium and chromium-driver)", file=sys.stderr)
            return 2

    profile = tempfile.mkdtemp(prefix="tessera-chromium-")
    driver = None
    try:
        driver = new_browser(profile)
        sso_flow(driver, base, args.provider, args.user)
        violations = [v for v in csp_violations(driver) if base in str(v)]
        check(not violations, f"tessera's pages broke their own Content-Security-Policy: {violations}")
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        if driver is not None:
            try:
                text = driver.find_element(By.TAG_NAME, "body").text
                print(f"  at {driver.current_url}\n  page text:\n{text[:2000]}", file=sys.stderr)
            except WebDriverException:
                pass
        return 1
    except Exception as error:  # noqa: BLE001 - any browser error fails the test with its message
        print(f"FAIL: {type(error).__name__}: {error}", file=sys.stderr)
        if driver is not None:
            try:
                text = driver.find_element(By.TAG_NAME, "body").text
                print(f"  at {driver.current_url}\n  page text:\n{text[:2000]}", file=sys.stderr)
            except WebDriverException:
                pass
        return 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        shutil.rmtree(profile, ignore_errors=True)
    print("sso: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
