"""What a person does: a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) opens the
hub, is refused with a wrong password, logs in with the right one and reaches JupyterLab."""

import os
import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import USER

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    assert os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK), (
        "Debian's chromium and chromium-driver are needed (tests/jupyterhub/run.sh installs them)")
    profile = tempfile.mkdtemp(prefix="mlops-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--user-data-dir=%s" % profile, "--window-size=1280,900"):
        options.add_argument(argument)
    # The driver is Debian's too: Selenium Manager downloads nothing.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _log_in(browser, hub, password):
    browser.delete_all_cookies()
    browser.get(hub.url + "/hub/login")
    form = WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.ID, "username_input")))
    form.clear()
    form.send_keys(USER)
    secret = browser.find_element(By.ID, "password_input")
    secret.clear()
    secret.send_keys(password)
    browser.find_element(By.ID, "login_submit").click()


def test_a_wrong_password_is_refused_on_the_login_page(browser, hub):
    _log_in(browser, hub, "certainly-wrong")
    error = WebDriverWait(browser, 30).until(expected_conditions.visibility_of_element_located((By.CLASS_NAME, "login_error")))
    assert error.text == "Invalid username or password"
    assert browser.current_url.startswith(hub.url + "/hub/login")
    assert browser.get_cookie("jupyterhub-hub-login") is None


def test_the_right_password_leads_to_jupyterlab(browser, hub, platform):
    _log_in(browser, hub, hub.password())
    # The hub spawns the server (or finds it running) and sends the browser on to JupyterLab.
    WebDriverWait(browser, 180).until(expected_conditions.url_contains("/user/%s/lab" % USER))
    WebDriverWait(browser, 180).until(expected_conditions.presence_of_element_located((By.ID, "jp-main-dock-panel")))
    launcher = WebDriverWait(browser, 120).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".jp-Launcher")))
    assert "Notebook" in launcher.text
    assert browser.current_url.startswith("%s/user/%s/lab" % (hub.url, USER))
    assert "JupyterLab" in browser.title
    source = browser.page_source
    assert platform.mlflow_password not in source and hub.password() not in source
