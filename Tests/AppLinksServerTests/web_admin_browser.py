"""Drives the web administration in a real browser: headless Chromium through chromedriver and selenium.

Usage: web_admin_browser.py CONFIG_JSON, where CONFIG_JSON names two running servers (a, b) with their setup codes,
the applinks executable and each server's environment (for the CLI steps), and a folder for screenshots. Checks
every page with axe-core (axe-selenium-python), and fails on a serious or critical violation. Prints a JSON report;
exits non-zero with the reason on the first failed check.
"""
import json
import os
import subprocess
import sys
import time

from authlib.integrations.requests_client import OAuth2Session
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

config = json.loads(sys.argv[1])
A, B = config["a"], config["b"]
PASSWORD = "correct horse battery"
report = {"pages_checked": [], "timings": {}}


def fail(message):
    print(json.dumps(report), flush=True)
    print("FAILED: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message + "\nat " + driver.current_url + "\n" + driver.find_element(By.TAG_NAME, "body").text[:3000])


def browser():
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    d.set_page_load_timeout(60)
    return d


driver = browser()


def no_alert():
    try:
        text = driver.switch_to.alert.text
        fail("a script ran on the page and opened an alert: " + text)
    except NoAlertPresentException:
        pass


def audit(name):
    """Saves a screenshot and runs axe-core; serious and critical violations fail."""
    no_alert()
    driver.save_screenshot(os.path.join(config["screenshots"], name + ".png"))
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    if bad:
        fail("axe found serious violations on %s (%s): %s" % (
            name, driver.current_url, json.dumps([(v["id"], v["help"], [n["html"] for n in v["nodes"]][:3]) for v in bad])))
    report["pages_checked"].append(name)


def cli(server, *args, stdin=None):
    env = dict(os.environ)
    env.update(config[server + "_env"])
    r = subprocess.run([config["applinks"], *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail("applinks %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


def field(name):
    return driver.find_element(By.NAME, name)


def fill(name, value):
    element = field(name)
    element.clear()
    element.send_keys(value)


def navigate(element):
    """Clicks something that loads a new page, and waits until the new page is there."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_):
        try:
            old.is_enabled()
            return False
        except WebDriverException:  # stale, or chromedriver's "does not belong to the document"
            return True

    WebDriverWait(driver, 60).until(replaced)
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def click(text):
    for element in driver.find_elements(By.XPATH, "//button | //a"):
        if element.text.strip() == text and element.is_displayed():
            navigate(element)
            return
    fail("no button or link '%s' on %s" % (text, driver.current_url))


def body():
    return driver.find_element(By.TAG_NAME, "body").text


def wait_for(condition, what, seconds=30):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.1)
    fail("waited %ss for %s" % (seconds, what))


def row(name):
    # The live update may replace the rows between two reads: then look again.
    for _ in range(20):
        try:
            for tr in driver.find_elements(By.CSS_SELECTOR, "#links-table tbody tr"):
                if tr.find_element(By.CSS_SELECTOR, "td a").text == name:
                    return tr
            return None
        except StaleElementReferenceException:
            time.sleep(0.05)
    return None


def fresh(read):
    """`read()`, again if the live update replaced the rows it was looking at."""
    for _ in range(20):
        try:
            return read()
        except StaleElementReferenceException:
            time.sleep(0.05)
    fail("the table kept changing while it was read")


def row_names():
    """The names in the table, read again if the live update replaced the rows meanwhile."""
    for _ in range(20):
        try:
            return [tr.find_element(By.CSS_SELECTOR, "td a").text for tr in driver.find_elements(By.CSS_SELECTOR, "#links-table tbody tr")]
        except StaleElementReferenceException:
            time.sleep(0.05)
    fail("the table kept changing while it was read")


def row_text(name):
    try:
        tr = row(name)
        return tr.text if tr else ""
    except StaleElementReferenceException:
        return ""


def set_up(base, code):
    """The first run: / sends the browser to /setup, which refuses a wrong code and then makes the admin."""
    driver.get(base + "/")
    check(driver.current_url == base + "/setup", "/ should send a fresh deployment to /setup")
    audit("setup")
    fill("code", "AAAA-BBBB-CCCC-DDDD")
    fill("username", "admin")
    fill("password", PASSWORD)
    fill("password_again", PASSWORD)
    click("Create administrator")
    check("not the one-time code" in body(), "a wrong code must be refused")
    check(field("username").get_attribute("value") == "admin", "the user name stays filled in")
    fill("code", code.lower())
    fill("password", PASSWORD)
    fill("password_again", PASSWORD)
    click("Create administrator")
    check(driver.current_url == base + "/admin/applinks", "setup should land on the links page")


def log_in(base, user):
    driver.delete_all_cookies()
    driver.get(base + "/")
    fill("username", user)
    fill("password", PASSWORD)
    click("Log in")


# 1. First run on A: setup, the empty state, and the setup page refusing everything afterwards.
set_up(A, config["a_code"])
check("not linked to any application yet" in body(), "an empty deployment shows the empty state")
audit("links-empty")
driver.get(A + "/setup")
check("Already set up" in body(), "the setup page refuses once an administrator exists")

# 2. The wizard: an oauth2-incoming link, with a wrong answer first.
driver.get(A + "/admin/applinks")
click("Create link")
audit("create-link-types")
click("Create External application (OAuth 2.0 incoming) link")
check("/admin/applinks/wizard/" in driver.current_url, "choosing a type opens its wizard")
audit("wizard")
fill("f.name", "Build dashboard")
fill("f.redirect_url", "ftp://nowhere")
click("Next")
check("/admin/applinks/wizard/" in driver.current_url, "a wrong answer keeps the admin on the step")
error = driver.find_element(By.ID, "f-redirect_url-error").text
check("redirect" in error.lower() or "https" in error.lower(), "the redirect URL's error stands next to it: " + error)
check(field("f.name").get_attribute("value") == "Build dashboard", "the other answers stay filled in")
scopes_error = driver.find_element(By.ID, "f-scopes-error").text
check(scopes_error != "", "no scope chosen is an error next to the scopes")
audit("wizard-errors")
fill("f.redirect_url", "https://app.example.com/callback")
driver.find_element(By.ID, "f-scopes-REPO_READ").click()
driver.find_element(By.ID, "f-scopes-SYSTEM_ADMIN").click()
driver.find_element(By.ID, "f-allow_client_credentials").click()
click("Next")
check("The link was created" in body(), "the wizard creates the link")
audit("created")
terms = {dt.text: dd.text for dt, dd in zip(driver.find_elements(By.CSS_SELECTOR, "dl dt"), driver.find_elements(By.CSS_SELECTOR, "dl dd"))}
client_id, client_secret, token_endpoint = terms.get("client_id"), terms.get("client_secret"), terms.get("token_endpoint")
check(client_id and client_secret and token_endpoint, "the created page shows the credentials once: %r" % terms)
click("Open the link")
link_url = driver.current_url
audit("link")
click("View credentials")
audit("credentials")
check(client_id in body() and "https://app.example.com/callback" in body() and "REPO_READ" in body(), "View credentials shows id, redirect and scopes")
check(client_secret in body(), "the secret is shown where oauth2.allow_viewing_secrets allows it")
session = OAuth2Session(client_id, client_secret, scope="REPO_READ")
token = session.fetch_token(token_endpoint, grant_type="client_credentials")
check("access_token" in token, "authlib gets a token with the credentials: %r" % token)
report["authlib_token_type"] = token.get("token_type")

# Regenerate: asks first, shows the new secret once, and the old one stops working.
click("Regenerate secret")
check("stops working at once" in body(), "regenerating asks for confirmation")
click("Regenerate secret")
new_secret = None
for dt, dd in zip(driver.find_elements(By.CSS_SELECTOR, "dl dt"), driver.find_elements(By.CSS_SELECTOR, "dl dd")):
    if dt.text == "client_secret":
        new_secret = dd.text
check(new_secret and new_secret != client_secret, "a new secret is shown")
try:
    OAuth2Session(client_id, client_secret).fetch_token(token_endpoint, grant_type="client_credentials")
    fail("the old secret still works after regeneration")
except Exception as e:
    report["old_secret_refused"] = str(e)[:200]

# 3. Names a remote or an admin chose are text, never markup.
for name in ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']:
    cli("a", "create", "oauth2-incoming", "--set", "name=" + name, "--set", "redirect_url=https://x.example.com/cb",
        "--set", "scopes=REPO_READ")
# A remote that reports markup as its version, 60 KB of it: stored short, shown as text.
cli("a", "create", "fixture", "--set", "name=Hostile", "--set", "url=https://hostile.example.com", "--set", "token=abcd")
cli("a", "edit", "Hostile", "--set", "config.remote_version=" + '"><img src=x onerror=alert(2)>' * 2000)
cli("a", "status", "Hostile")
driver.get(A + "/admin/applinks")
# Markup that had been read as markup would be in the page now, whether or not its handler has run yet.
check(driver.execute_script("return document.querySelectorAll('img[src=\"x\"], script:not([src])').length") == 0,
      "a name or version was read as markup")
no_alert()
version = fresh(lambda: row("Hostile").find_element(By.CSS_SELECTOR, ".sub").text)
check(version.startswith('Generic application "><img src=x onerror=alert(2)>') and len(version) < 200,
      "a remote's version shows as short text: %d characters" % len(version))
check(row("<script>alert(1)</script>") is not None, "a name with a script tag shows as text")
check(row('"><img src=x onerror=alert(1)>') is not None, "a name with an img tag shows as text")
check(not driver.find_elements(By.CSS_SELECTOR, "#links-table img"), "no element came from a link's name")
audit("links")

# 4. A typed action through its form.
fixture = json.loads(cli("a", "create", "fixture", "--set", "name=Typed", "--set", "url=https://typed.example.com",
                         "--set", "token=abcd", "--json"))
driver.get(A + "/admin/applinks/" + fixture["id"])
fill("arg.text", "hello <b>")
fill("arg.count", "3")
fill("arg.ratio", "0.5")
driver.find_element(By.ID, "a-echo-loud").click()
navigate(driver.find_element(By.CSS_SELECTOR, "#action-echo button[type=submit]"))
check("echoed" in body(), "the action's message is shown")
driver.find_element(By.CSS_SELECTOR, "section.info details summary").click()
echoed = json.loads(driver.find_element(By.CSS_SELECTOR, "section.info pre").text)
check(echoed == {"text": "hello <b>", "count": 3, "ratio": 0.5, "loud": True}, "typed arguments arrive typed: %r" % echoed)
audit("action-result")
fill("arg.text", "again")
fill("arg.count", "2.5")
navigate(driver.find_element(By.CSS_SELECTOR, "#action-echo button[type=submit]"))
check("count" in driver.find_element(By.CSS_SELECTOR, "#action-echo .field-error").text, "a wrong number is refused next to its action")
check(field("arg.text").get_attribute("value") == "again", "the action's other arguments stay filled in")

# A step that waits on another application: the browser goes there, and is sent back to the wizard.
driver.get(A + "/admin/applinks/new")
click("Create Test fixture link")
fill("f.name", "Waiting")
fill("f.url", "https://waiting.example.com")
click("Next")
fill("f.token", "abcd")
fill("f.wait_seconds", "3")
click("Next")
check("Approve the link in your browser." in body(), "a waiting step says what it waits for")
away = driver.find_element(By.LINK_TEXT, "Continue at the other application").get_attribute("href")
check(away.startswith("http://127.0.0.1:1/"), "the waiting step links to the other application: " + away)
audit("wizard-pending")
draft = driver.current_url.rsplit("/", 1)[1]
driver.get(A + "/plugins/fixture/approve?draft=" + draft)
check(driver.current_url == A + "/admin/applinks/wizard/" + draft, "the other application's answer brings the browser back")


def finished():
    if "The link was created" in body():
        return True
    click("Check again")
    return "The link was created" in body()


wait_for(finished, "the waiting wizard to finish")

# 5. Live: changes from the CLI and from the link types page show without a reload.
driver.get(A + "/admin/applinks")
wait_for(lambda: "CONNECTED" in row_text("Typed"), "the fixture link to be CONNECTED")
driver.execute_script("window.__notReloaded = true;")
start = time.monotonic()
cli("a", "edit", "Typed", "--set", "name=Typed renamed")
report["timings"]["cli_rename_seconds"] = wait_for(lambda: row("Typed renamed") is not None, "the rename to show") + 0
check(driver.execute_script("return window.__notReloaded === true;"), "the page updated without a reload")
cli("a", "plugins", "disable", "fixture")
report["timings"]["cli_disable_seconds"] = wait_for(lambda: "DISABLED" in row_text("Typed renamed"), "DISABLED to show")
check(driver.execute_script("return window.__notReloaded === true;"), "the page updated without a reload")
driver.get(A + "/admin/link-types")
audit("link-types")
navigate(driver.find_element(By.CSS_SELECTOR, "button[aria-label='Enable Test fixture']"))
check("The link type was enabled" in body(), "Enable works from the page")
driver.get(A + "/admin/applinks")
wait_for(lambda: "CONNECTED" in row_text("Typed renamed"), "the link to come back CONNECTED")
driver.get(A + "/admin/link-types")
navigate(driver.find_element(By.CSS_SELECTOR, "button[aria-label='Disable Test fixture']"))
driver.get(A + "/admin/applinks")
check("DISABLED" in row_text("Typed renamed"), "Disable on the page turns its links DISABLED at once")
cli("a", "plugins", "enable", "fixture")

# 6. Filters, search and the audit log.
driver.get(A + "/admin/applinks")
fill("q", "renamed")
click("Filter")
names = row_names()
check(names == ["Typed renamed"], "search by name: %r" % names)
driver.get(A + "/admin/applinks")
Select(driver.find_element(By.ID, "f-type")).select_by_value("oauth2-incoming")
click("Filter")
names = row_names()
check(len(names) == 3 and "Typed renamed" not in names and "Hostile" not in names, "filter by type: %r" % names)
driver.get(A + "/admin/audit?actor=web:admin")
check("web:admin" in body() and "create" in body(), "the audit log names the web user as the actor")
audit("audit")

# A warning offers "Continue anyway" and "Back"; Back keeps the answers; a draft can be discarded.
driver.get(A + "/admin/applinks/new")
click("Create Atlassian product / OAuth 1.0 link")
fill("f.url", "http://127.0.0.1:9")
click("Next")
check("No application answered" in body(), "an unreachable URL is a warning, not a dead end")
check(any(b.text == "Continue anyway" for b in driver.find_elements(By.TAG_NAME, "button")), "the warning offers Continue anyway")
audit("wizard-warning")
click("Back")
check(field("f.url").get_attribute("value") == "http://127.0.0.1:9", "Back returns to the URL step with the answer kept")
click("Discard this link")
check("The draft was discarded" in body(), "the draft is discarded")

# 7. Two-way atlassian-oauth1 between A and B, entirely in the browser: A's wizard sends the browser to B,
# where B's administrator logs in and creates B's side, and B sends it back to A's wizard, which finishes.
set_up(B, config["b_code"])
log_in(A, "admin")  # cookies are per host, not per port: this ends the session on B too
driver.get(A + "/admin/applinks/new")
click("Create Atlassian product / OAuth 1.0 link")
fill("f.url", B)
click("Next")
check("remote_user" in driver.page_source, "the remote step offers the remote administrator's credentials")
audit("wizard-remote")
Select(field("f.remote_side")).select_by_value("browser")
driver.find_element(By.ID, "f-allow_http").click()
click("Next")
check("log in as its administrator" in body(), "the wizard waits for B's side and says how to make it")
click("Continue at the other application")
check(driver.current_url.startswith(B + "/login"), "B asks its administrator to log in first")
fill("username", "admin")
fill("password", PASSWORD)
click("Log in")
check(driver.current_url.startswith(B + "/admin/applinks/reciprocal"), "after logging in, B shows what A asks for")
check(A in body(), "B's page names the application that asks")
audit("reciprocal")
click("Create link")
check(driver.current_url.startswith(A + "/admin/applinks/wizard/"), "B sends the browser back to A's wizard: " + driver.current_url)
check("The link was created" in body(), "A's wizard finishes once B has its side")
click("Application links")
wait_for(lambda: "Two-way" in row_text("Server test") and "CONNECTED" in row_text("Server test"), "A's side to be Two-way and CONNECTED")
log_in(B, "admin")
driver.get(B + "/admin/applinks")
wait_for(lambda: "Two-way" in row_text("Server test") and "CONNECTED" in row_text("Server test"), "B's side to be Two-way and CONNECTED")

# Delete both sides from A.
log_in(A, "admin")
driver.get(A + "/admin/applinks")
fresh(lambda: row("Server test").find_element(By.TAG_NAME, "summary").click())
# An open menu holds the live update back, so its link stays put.
navigate(fresh(lambda: row("Server test").find_element(By.LINK_TEXT, "Delete")))
audit("delete")
check(driver.find_element(By.ID, "reciprocal").is_selected(), "for a two-way link, deleting the other side is offered")
fill("arg.remote_user", "admin")
fill("arg.remote_password", PASSWORD)
click("Delete")
check("The link was deleted" in body() and row("Server test") is None, "A's side is gone")
log_in(B, "admin")
driver.get(B + "/admin/applinks")
check(row("Server test") is None, "B's reciprocal link is gone too")

# 8. A link deleted in another tab, and a stale form.
log_in(A, "admin")
driver.get(link_url + "/edit")
cli("a", "delete", "Build dashboard", "--yes")
fill("name", "Too late")
click("Save")
check("This link no longer exists" in body(), "a link deleted elsewhere gets a clear page, not a 500")
driver.get(A + "/admin/applinks")
driver.execute_script("document.querySelector('form[action=\"/admin/applinks/check\"] input[name=csrf_token]').value = 'stale';")
click("Check status of all")
check("nothing was changed" in body(), "a stale CSRF token is refused with a page that says so")

# 9. A user who is not an administrator.
cli("a", "users", "add", "bob", "--password-stdin", stdin=PASSWORD + "\n")
log_in(A, "bob")
check(driver.current_url.endswith("/account/authorizations"), "/ sends a non-admin to their authorized applications")
audit("authorizations")
for path in ["/admin/applinks", "/admin/link-types", "/admin/audit", "/admin/applinks/new"]:
    driver.get(A + path)
    check("Administrators only" in body(), "a non-admin is refused " + path)

driver.get(A + "/login")
audit("login")
driver.quit()
print(json.dumps(report))
