"""docs/images/serve_cleaning.png: `drn serve` with the shipped models, one real photo sent with
"Compare cleaning", the cleaning slider at 0.40 and the before/after split at 0 (Debian's
Chromium through Selenium, headless).

    python3 experiments/serve_cleaning_shot.py ../shared/data/real_lr/RealESRGAN_inputs/0014.jpg
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/images/serve_cleaning.png"))
    parser.add_argument("--strength", type=int, default=40, help="the cleaning slider, 0..100")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "drn_cli", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1000"):
        options.add_argument(flag)
    time.sleep(4)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(browser, 20).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#model option")) > 1)
        browser.find_element(By.ID, "compare").click()
        browser.find_element(By.ID, "files").send_keys(str(args.photo.resolve()))
        WebDriverWait(browser, 600).until(lambda b: b.find_element(By.CSS_SELECTOR, ".job .status").text == "done")
        WebDriverWait(browser, 20).until(lambda b: b.find_element(By.CSS_SELECTOR, ".cleaning").is_displayed())
        browser.execute_script(f"const s = document.querySelector('.strength'); s.value = {args.strength};"
                               "s.dispatchEvent(new Event('input'));"
                               "const c = document.querySelector('.slider'); c.value = 0; c.dispatchEvent(new Event('input'));")
        time.sleep(1.5)
        print(browser.find_element(By.CSS_SELECTOR, ".info").text)
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(args.out))
    finally:
        browser.quit()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


if __name__ == "__main__":
    main()
