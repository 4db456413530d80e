#!/usr/bin/env python3
"""A real browser (headless Chromium through Selenium) drives tessera's token pages.

A user is sent to the login form, logs in, creates a READ token, reads it once from
#raw-token (selected, with a working copy button), uses it on the REST API, reloads the page
(which neither shows it again nor creates another), sees that the list never shows it again,
and revokes it
(after which the API refuses it). An administrator then finds the user's tokens in the
inventory by owner and revokes one, confirming the password first (websudo); switches off
Basic with a password on the access policy page (after which the REST API refuses the user's
password and accepts the token), finds the change and the refusal on the audit log page, and
opens the API usage page. Finally, an OAuth 2.0 application asks the user for consent: the
user logs in, sees the application's name and each scope in words, allows it, and lands on the
application's redirect URI with `code`, `state` and `iss`. Any failure exits non-zero with a
message saying which step failed; success prints "browser: ok".

Usage: token_pages.py --url http://127.0.0.1:PORT --user alice --password PW
                      --admin admin --admin-password PW
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import urllib.error
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 20


class Failure(Exception):
    """A step of the flow went wrong."""


def check(condition, message):
    if not condition:
        raise Failure(message)


def step(message):
    print(f"- {message}", flush=True)


def new_browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--password-store=basic",
        f"--user-data-dir={profile_dir}",
    ]:
        options.add_argument(argument)
    # No password manager bubbles or leak checks in the way of the forms.
    options.add_experimental_option(
        "prefs",
        {
            "credentials_enable_service": False,
            "profile.password_manager_enabled": False,
            "profile.password_manager_leak_detection": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    return driver


def wait(driver):
    return WebDriverWait(driver, WAIT_SECONDS)


def path_of(driver):
    parsed = urllib.parse.urlparse(driver.current_url)
    return parsed.path, urllib.parse.parse_qs(parsed.query)


def wait_for_path(driver, path):
    try:
        wait(driver).until(lambda d: path_of(d)[0] == path)
    except Exception as error:  # noqa: BLE001 - reported as a failed step
        raise Failure(f"expected to arrive at {path}, but the browser is at {driver.current_url}") from error


def log_in(driver, base, user, password, expected_path):
    wait(driver).until(EC.presence_of_element_located((By.ID, "username")))
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()
    wait_for_path(driver, urllib.parse.urlparse(base).path + expected_path)


def api_status(base, token):
    """GET /rest/api/2/myself with the token: (status, body)."""
    return myself(base, f"Bearer {token}")


def myself(base, authorization):
    """GET /rest/api/2/myself with an Authorization header: (status, body); the body of a
    refusal too."""
    request = urllib.request.Request(
        f"{base}/rest/api/2/myself",
        headers={"Authorization": authorization, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read().decode("utf-8"))
        except ValueError:
            return error.code, None


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def create_token(driver, name, scope, days):
    field = driver.find_element(By.ID, "token-name")
    field.clear()
    field.send_keys(name)
    days_field = driver.find_element(By.ID, "token-days")
    days_field.clear()
    days_field.send_keys(str(days))
    box = driver.find_element(By.ID, f"scope-{scope}")
    if not box.is_selected():
        box.click()
    driver.find_element(By.ID, "create-token").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "raw-token")))
    return driver.find_element(By.ID, "raw-token")


def row_of(driver, name):
    """The table row of the token named `name` (compared as text, not as markup).

    A page replaced while it is being read (the answer to a form post arriving) makes its
    elements unusable mid-loop; the page is then read again, once it has settled."""
    def find():
        for row in driver.find_elements(By.CSS_SELECTOR, "table#tokens tbody tr"):
            cells = row.find_elements(By.CSS_SELECTOR, "td.name")
            if cells and cells[0].text == name:
                return row
        return None

    for _ in range(50):
        try:
            wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
            return find()
        except WebDriverException:
            time.sleep(0.1)
    return find()


def is_gone(element):
    """A wait condition: the element's page has been replaced. Chromium reports a node of a
    replaced document either as stale or as not belonging to the document; both mean gone."""
    def gone(_):
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True

    return gone


def click_and_wait(driver, button):
    button.click()
    wait(driver).until(is_gone(button))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def revoke(driver, name):
    """Revokes with the row's button and, when the page asks (it does, unless the password
    must be confirmed first), confirms; then the list says what was revoked."""
    row = row_of(driver, name)
    check(row is not None, f"no row for token {name!r} to revoke")
    click_and_wait(driver, row.find_element(By.CSS_SELECTOR, "button.revoke"))
    confirm = driver.find_elements(By.ID, "confirm-action")
    if not confirm:
        return
    question = driver.find_element(By.ID, "confirm").text
    check(name in question, f"the confirmation does not name {name!r}: {question!r}")
    check(row_of(driver, name) is None, "the confirmation page is not a list")
    click_and_wait(driver, confirm[0])
    said = driver.find_elements(By.ID, "result")
    check(said and name in said[0].text and "revoked" in said[0].text,
          f"no message naming the revoked token: {[e.text for e in said]}")


AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oidc", "node_modules", "axe-core", "axe.min.js")


def accessible(driver, where):
    """Runs axe-core (pinned in tests/oidc/package-lock.json) over the page shown: no serious
    or critical violation. Injected by the driver, which the pages' CSP does not govern."""
    if not os.path.exists(AXE):
        check(os.environ.get("CI") != "true", f"axe-core is missing at {AXE}: run scripts/test")
        step(f"(axe-core is not installed: {where} not checked)")
        return
    with open(AXE, encoding="utf-8") as source:
        driver.execute_script(source.read())
    driver.set_script_timeout(60)
    violations = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v =>"
        " ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))));")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    check(not bad, f"accessibility violations on {where}: {json.dumps(bad, indent=1)}")


def accessible_pages(driver, base, paths, who):
    for path in paths:
        driver.get(f"{base}{path}")
        wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
        step(f"axe-core: {path} as {who}")
        accessible(driver, f"{path} as {who}")


def csp_violations(driver):
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return []
    return [e["message"] for e in entries if "Content Security Policy" in e.get("message", "")]


def user_flow(driver, base, user, password):
    name = f"browser-{secrets.token_hex(4)}"
    context = urllib.parse.urlparse(base).path

    step("an anonymous visit to the token page lands on the login form")
    driver.get(f"{base}/secure/tokens")
    wait_for_path(driver, f"{context}/login")
    check(path_of(driver)[1].get("next") == ["/secure/tokens"], f"login page without next: {driver.current_url}")

    accessible(driver, "the login form")
    step(f"log in as {user}")
    log_in(driver, base, user, password, "/secure/tokens")
    check("Personal access tokens" in driver.title, f"unexpected title {driver.title!r}")

    step(f"create token {name} with READ for 30 days")
    field = create_token(driver, name, "READ", 30)
    raw = field.get_attribute("value")
    check(raw and raw.startswith("tspat_"), f"#raw-token holds {raw!r}, not a personal access token")
    check(field.get_attribute("readonly") is not None, "#raw-token is not read-only")
    check("will not be shown again" in driver.page_source, "no 'will not be shown again' note")
    accessible(driver, "the token page showing a new secret")

    step("the token works on the REST API")
    status, me = api_status(base, raw)
    check(status == 200, f"GET myself with the new token answered {status}")
    check(me and me.get("name") == user, f"GET myself answered for {me and me.get('name')!r}, not {user!r}")

    step("the secret is selected, and its copy button copies it")
    check(driver.execute_script("return document.activeElement && document.activeElement.id") == "raw-token",
          "the new secret is not focused and selected")
    copy = driver.find_element(By.CSS_SELECTOR, "button[data-copy='raw-token']")
    check(copy.is_displayed(), "no visible copy button (was the page's script refused?)")
    copy.click()
    wait(driver).until(lambda d: copy.text == "Copied")

    step("reloading the page shows the secret no more and creates nothing")
    driver.refresh()
    wait(driver).until(EC.presence_of_element_located((By.ID, "tokens")))
    check(not driver.find_elements(By.ID, "raw-token"), "the secret is shown again after a reload")
    rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "table#tokens td.name") if r.text == name]
    check(len(rows) == 1, f"{len(rows)} tokens named {name} after a reload, not 1")

    step("the list shows the token, never its secret")
    driver.get(f"{base}/secure/tokens")
    wait(driver).until(EC.presence_of_element_located((By.ID, "tokens")))
    check(row_of(driver, name) is not None, f"{name} is not listed")
    check(raw not in driver.page_source, "the raw token is on the list page")
    check(not driver.find_elements(By.ID, "raw-token"), "#raw-token is on the list page")

    step("user data is text, not markup")
    tricky = '<b id="injected">x</b>'
    create_token(driver, tricky, "READ", 1)
    driver.get(f"{base}/secure/tokens")
    wait(driver).until(EC.presence_of_element_located((By.ID, "tokens")))
    check(not driver.find_elements(By.ID, "injected"), "a token name was rendered as markup")
    check(row_of(driver, tricky) is not None, "the tricky token name is not shown as text")

    step("revoke it with its button")
    revoke(driver, name)
    wait_for_path(driver, f"{context}/secure/tokens")
    check(row_of(driver, name) is None, f"{name} is still listed after revoking")
    status, _ = api_status(base, raw)
    check(status == 401, f"the revoked token answered {status}, not 401")

    step("make one more token for the administrator to find")
    kept = f"browser-kept-{secrets.token_hex(4)}"
    kept_raw = create_token(driver, kept, "WRITE", 7).get_attribute("value")
    check(api_status(base, kept_raw)[0] == 200, "the second token does not work")

    step("and one the administrator leaves alone")
    driver.get(f"{base}/secure/tokens")
    wait(driver).until(EC.presence_of_element_located((By.ID, "tokens")))
    spare = create_token(driver, f"browser-spare-{secrets.token_hex(4)}", "READ", 7).get_attribute("value")

    accessible_pages(driver, base, ["/secure/nothing-here", "/secure/authorized-apps", "/secure/tokens"], user)

    step("the token page is usable 390 px wide: nothing wider than the window")
    driver.set_window_size(390, 844)
    driver.get(f"{base}/secure/tokens")
    wait(driver).until(EC.presence_of_element_located((By.ID, "create-token")))
    inner = driver.execute_script("return window.innerWidth")
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    check(wide <= inner, f"the token page is {wide} px wide in a {inner} px window")
    driver.set_window_size(1280, 900)

    step("log out")
    driver.find_element(By.ID, "logout").click()
    wait_for_path(driver, f"{context}/login")
    driver.get(f"{base}/secure/tokens")
    wait_for_path(driver, f"{context}/login")
    return kept, kept_raw, spare


def admin_flow(driver, base, admin, admin_password, user, kept, kept_raw):
    context = urllib.parse.urlparse(base).path

    step("a normal user's session is gone; the inventory asks the administrator to log in")
    driver.get(f"{base}/secure/admin/tokens")
    wait_for_path(driver, f"{context}/login")
    log_in(driver, base, admin, admin_password, "/secure/admin/tokens")

    step(f"filter the inventory by owner {user}")
    owner = driver.find_element(By.ID, "filter-owner")
    owner.clear()
    owner.send_keys(user)
    driver.find_element(By.ID, "filter").click()
    wait(driver).until(lambda d: path_of(d)[1].get("owner") == [user])
    owners = {cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "table#tokens td.owner")}
    check(owners == {user}, f"the filtered inventory shows owners {owners}")
    check(row_of(driver, kept) is not None, f"{kept} is not in the inventory")

    step(f"revoking {kept} first asks for the password again (websudo), keeping the revocation")
    row = row_of(driver, kept)
    check(row is not None, f"no row for token {kept!r} to revoke")
    click_and_wait(driver, row.find_element(By.CSS_SELECTOR, "button.revoke"))
    wait(driver).until(EC.presence_of_element_located((By.ID, "password")))
    check(api_status(base, kept_raw)[0] == 200, "the token was revoked without websudo")
    wrong = driver.find_element(By.ID, "password")
    wrong.send_keys("not-the-password")
    driver.find_element(By.ID, "confirm").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "websudo-error")))
    driver.find_element(By.ID, "password").send_keys(admin_password)
    driver.find_element(By.ID, "confirm").click()

    step("the password confirmed, the revocation goes on to its confirmation by itself")
    wait(driver).until(EC.presence_of_element_located((By.ID, "confirm-action")))
    question = driver.find_element(By.ID, "confirm").text
    check(kept in question, f"the confirmation does not name {kept!r}: {question!r}")
    check(api_status(base, kept_raw)[0] == 200, "revoked before the confirmation")

    step(f"revoke {kept} as the administrator")
    click_and_wait(driver, driver.find_element(By.ID, "confirm-action"))
    check(path_of(driver)[1].get("owner") == [user], f"the inventory's filter is lost: {driver.current_url}")
    said = driver.find_elements(By.ID, "result")
    check(said and kept in said[0].text, f"no message naming the revoked token: {[e.text for e in said]}")
    check(row_of(driver, kept) is None, f"{kept} is still listed after revoking")
    status, _ = api_status(base, kept_raw)
    check(status == 401, f"the token revoked by the administrator answered {status}, not 401")


def policy_flow(driver, base, user, password, token):
    context = urllib.parse.urlparse(base).path
    check(myself(base, basic(user, password))[0] == 200, "the user's password does not work to begin with")

    step("switch off Basic with a password on the access policy page")
    driver.get(f"{base}/secure/admin/policy")
    wait(driver).until(EC.presence_of_element_located((By.ID, "methods")))
    box = driver.find_element(By.ID, "basic_password.enabled")
    check(box.is_selected(), "Basic with a password is not enabled to begin with")
    box.click()
    driver.find_element(By.ID, "save-policy").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "policy-saved")))
    check(not driver.find_element(By.ID, "basic_password.enabled").is_selected(), "the saved policy still enables it")

    step("the REST API now refuses the user's password, and takes the token")
    status, body = myself(base, basic(user, password))
    check(status == 403, f"Basic with a password answered {status}, not 403")
    check(body and body["errors"].get("reason") == "method_disabled", f"refused for {body}")
    check(myself(base, basic(user, token))[0] == 200, "Basic with the token in the password stopped working")

    step("the audit log page shows the change and the refusal")
    driver.get(f"{base}/secure/admin/audit?action=policy.*")
    wait(driver).until(EC.presence_of_element_located((By.ID, "events")))
    actions = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "table#events td.action")]
    check("policy.changed" in actions, f"no policy.changed on the audit page: {actions}")
    for _ in range(50):
        driver.get(f"{base}/secure/admin/audit?action=access.denied&target=user:{user}")
        wait(driver).until(EC.presence_of_element_located((By.ID, "events")))
        reasons = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "table#events .reason")]
        if "method_disabled" in reasons:
            break
        time.sleep(0.1)
    check("method_disabled" in reasons, f"the refusal is not on the audit page: {reasons}")

    step("the whole audit log fits a 1280 px window, newest first, to the second")
    driver.set_window_size(1280, 900)
    driver.get(f"{base}/secure/admin/audit")
    wait(driver).until(EC.presence_of_element_located((By.ID, "events")))
    links = driver.execute_script(
        "return [...document.querySelectorAll('header nav.main a')].map(a => Math.round(a.getBoundingClientRect().top))")
    check(len(links) == 9 and len(set(links)) == 1, f"the administrator's navigation is not one line at 1280 px: {links}")
    driver.get(f"{base}/secure/admin/audit")
    wait(driver).until(EC.presence_of_element_located((By.ID, "events")))
    inner = driver.execute_script("return window.innerWidth")
    widths = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.getElementById('events').getBoundingClientRect().width]")
    check(max(widths) <= inner, f"the audit page is {widths} px wide in a {inner} px window")
    times = [t.get_attribute("datetime") for t in driver.find_elements(By.CSS_SELECTOR, "table#events td.time time")]
    check(len(times) > 5, f"only {len(times)} events on the audit page")
    check(times == sorted(times, reverse=True), f"the events are not newest first: {times[:10]}")
    shown = driver.find_element(By.CSS_SELECTOR, "table#events td.time").text
    check(len(shown.split(" ")[1].split(":")) == 3, f"no seconds in the time {shown!r}")
    tall = driver.execute_script(
        "return Math.max(...[...document.querySelectorAll('table#events tbody tr')].map(r => r.getBoundingClientRect().height))")
    check(tall <= 80, f"an audit row is {tall} px tall")

    step("switch it on again")
    driver.get(f"{base}/secure/admin/policy")
    wait(driver).until(EC.presence_of_element_located((By.ID, "methods")))
    driver.find_element(By.ID, "basic_password.enabled").click()
    driver.find_element(By.ID, "save-policy").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "policy-saved")))
    check(myself(base, basic(user, password))[0] == 200, "the password still does not work")

    step("the API usage page opens")
    driver.get(f"{base}/secure/admin/usage")
    wait_for_path(driver, f"{context}/secure/admin/usage")
    check("API usage" in driver.title, f"unexpected title {driver.title!r}")

    accessible_pages(driver, base, [
        "/secure/tokens", "/secure/admin/tokens", "/secure/admin/policy", "/secure/admin/audit",
        "/secure/admin/usage", "/secure/admin/oauth2", "/secure/admin/oauth1",
        "/secure/admin/identity", "/secure/admin/websudo",
    ], "an administrator")

    violations = csp_violations(driver)
    check(not violations, f"the pages broke their own Content-Security-Policy: {violations}")


class Callback(http.server.BaseHTTPRequestHandler):
    """The OAuth 2.0 application's redirect URI: records what it was sent."""

    received = []

    def do_GET(self):  # noqa: N802 - the handler's name is fixed by the library
        Callback.received.append(self.path)
        body = b"<!DOCTYPE html><title>callback</title><p>received</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def register_client(base, admin, admin_password, redirect_uri):
    request = urllib.request.Request(
        f"{base}/rest/tessera/1/oauth2/clients",
        data=json.dumps(
            {"name": "Browser <Test> App", "redirectUris": [redirect_uri], "confidential": False, "scopes": ["WRITE"]}
        ).encode(),
        headers={"Authorization": basic(admin, admin_password), "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        return json.loads(response.read().decode("utf-8"))["clientId"]


def consent_flow(driver, base, user, password, admin, admin_password):
    context = urllib.parse.urlparse(base).path
    server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirect_uri = f"http://127.0.0.1:{server.server_port}/callback"
    try:
        client_id = register_client(base, admin, admin_password, redirect_uri)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_hex(8)
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "READ",
            "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
        })

        step("an OAuth 2.0 application sends the user to authorize it: first the login form")
        driver.get(f"{base}/rest/oauth2/latest/authorize?{query}")
        wait_for_path(driver, f"{context}/login")
        log_in(driver, base, user, password, "/rest/oauth2/latest/authorize")

        step("the consent page names the application and each scope in words")
        wait(driver).until(EC.presence_of_element_located((By.ID, "approve")))
        name = driver.find_element(By.ID, "client-name").text
        check(name == "Browser <Test> App", f"the application is shown as {name!r}")
        scopes = [li.get_attribute("data-scope") for li in driver.find_elements(By.CSS_SELECTOR, "#consent-scopes li")]
        check(scopes == ["read:jira-work", "read:jira-user"], f"the scopes shown are {scopes}")
        words = driver.find_element(By.ID, "consent-scopes").text
        check("View projects and issues" in words, f"the scopes are not in words: {words!r}")
        accessible(driver, "the consent page")

        step("allow it, and land on the redirect URI with code, state and iss")
        driver.find_element(By.ID, "approve").click()
        wait(driver).until(lambda d: d.current_url.startswith(redirect_uri))
        landed = urllib.parse.urlparse(driver.current_url)
        params = dict(urllib.parse.parse_qsl(landed.query))
        check(params.get("code", "").startswith("tscod_"), f"no code in {driver.current_url}")
        check(params.get("state") == state, "the state did not come back")
        check(params.get("iss") == base, f"iss is {params.get('iss')!r}, not {base!r}")
        check(Callback.received, "the application never received the redirect")
    finally:
        server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="tessera's base URL")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--admin-password", required=True)
    args = parser.parse_args()
    base = args.url.rstrip("/")

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            print(f"FAIL: {path} is missing (install Debian's chromium and chromium-driver)", file=sys.stderr)
            return 2

    profiles = []
    driver = None
    try:
        # A browser, with a fresh profile, for each person: nothing carries over between them.
        profiles.append(tempfile.mkdtemp(prefix="tessera-chromium-"))
        driver = new_browser(profiles[-1])
        kept, kept_raw, user_token = user_flow(driver, base, args.user, args.password)
        violations = csp_violations(driver)
        check(not violations, f"the pages broke their own Content-Security-Policy: {violations}")
        driver.quit()
        driver = None

        profiles.append(tempfile.mkdtemp(prefix="tessera-chromium-"))
        driver = new_browser(profiles[-1])
        admin_flow(driver, base, args.admin, args.admin_password, args.user, kept, kept_raw)
        policy_flow(driver, base, args.user, args.password, user_token)
        driver.quit()
        driver = None

        profiles.append(tempfile.mkdtemp(prefix="tessera-chromium-"))
        driver = new_browser(profiles[-1])
        consent_flow(driver, base, args.user, args.password, args.admin, args.admin_password)
        violations = csp_violations(driver)
        check(not violations, f"the consent page broke its own Content-Security-Policy: {violations}")
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
                print(f"  at {driver.current_url}", file=sys.stderr)
            except WebDriverException:
                pass
        return 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        for profile in profiles:
            shutil.rmtree(profile, ignore_errors=True)
    print("browser: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
