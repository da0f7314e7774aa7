"""`drn serve`: the API through an in-process client, the command as a process, and the page in
a real headless Chromium (Debian's package, driven by Selenium). Tiny real models; no mocks."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import photo, tiny_weights
from images import scene
from PIL import Image

pytest.importorskip("starlette", reason="drn serve needs the web extra: pip install 'drn-cli[web]'")
if importlib.util.find_spec("httpx2") is None and importlib.util.find_spec("httpx") is None:
    pytest.skip("the API tests use Starlette's TestClient, which needs httpx2 (Starlette 1.x) or httpx",
                allow_module_level=True)
from starlette.testclient import TestClient

from drn_cli.models.weights import save_weights
from drn_cli.web import create_app


def png(h: int = 24, w: int = 20, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(h, w, seed=seed)).save(buffer, format="PNG")
    return buffer.getvalue()


def wait(client, job_id: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.fixture
def client(shipped_tiny):
    with TestClient(create_app(device="cpu", max_upload_bytes=200_000)) as c:
        yield c


def test_a_job_goes_through_and_gives_result_input_confidence_and_a_zip(client):
    created = client.post("/api/jobs", files={"image": ("face.png", png(), "image/png")})
    assert created.status_code == 201, created.text
    job = wait(client, created.json()["id"])
    assert job["status"] == "done" and job["confidence"], job
    assert (job["model"], job["denoise"]) == ("drn-s-x4", 0), job  # auto: a clean lossless upload
    assert job["size_in"] == [20, 24] and job["size_out"] == [80, 96] and job["progress"] == 1
    result = client.get(f"/api/jobs/{job['id']}/result")
    assert result.headers["content-type"] == "image/png" and "face_upscaled.png" in result.headers["content-disposition"]
    assert Image.open(io.BytesIO(result.content)).size == (80, 96)
    assert Image.open(io.BytesIO(client.get(f"/api/jobs/{job['id']}/input").content)).size == (20, 24)
    assert Image.open(io.BytesIO(client.get(f"/api/jobs/{job['id']}/confidence").content)).size == (80, 96)
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/results.zip?ids={job['id']}").content))
    assert archive.namelist() == ["01_face_upscaled.png"]
    assert client.get("/api/models").json()[0]["name"] == "drn-s-x4-real"
    buffer = io.BytesIO()
    Image.fromarray(photo(24, 20)).save(buffer, format="JPEG", quality=30)
    compressed = wait(client, client.post("/api/jobs", files={"image": ("web.jpg", buffer.getvalue(), "image/jpeg")}).json()["id"])
    assert (compressed["model"], compressed["denoise"], compressed["denoise_reason"]) == (
        "drn-s-x4-real", 1, "JPEG quality 30"), compressed  # auto: its tables say q30
    assert job["animated"] is None


def test_jobs_wait_their_turn_and_a_failed_job_does_not_stop_the_server(client):
    slow = client.post("/api/jobs", files={"image": ("big.png", png(160, 160), "image/png")}, data={"tta": "1"}).json()
    wrong = client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")},
                        data={"model": "drn-s-x4", "scale": "2"}).json()  # refused when it runs: x4 model
    quick = client.post("/api/jobs", files={"image": ("b.png", png(), "image/png")}).json()
    assert client.get(f"/api/jobs/{quick['id']}").json()["status"] == "queued"
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{slow['id']}").json()["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    running = client.get(f"/api/jobs/{slow['id']}").json()
    assert running["status"] in ("running", "done") and 0 <= running["progress"] <= 1
    assert wait(client, slow["id"])["status"] == "done"
    failed = wait(client, wrong["id"])
    assert failed["status"] == "failed" and "--model drn-s-x4 is a x4 model, but --scale 2 was given" in failed["error"]
    assert client.get(f"/api/jobs/{wrong['id']}/result").status_code == 404
    assert wait(client, quick["id"])["status"] == "done"


@pytest.mark.parametrize(("upload", "data", "status", "words"), [
    (("notes.png", b"not an image at all", "image/png"), {}, 400, "notes.png"),
    (("a.png", png(), "image/png"), {"scale": "3"}, 400, "--scale must be 2, 4 or 8, got 3"),
    (("a.png", png(), "image/png"), {"scale": "x"}, 400, "scale must be 2, 4 or 8"),
    (("a.png", png(), "image/png"), {"model": "nope"}, 400, "not a model this page offers"),
    (("a.png", png(), "image/png"), {"model": "/etc/passwd"}, 400, "not a model this page offers"),
    (("a.png", png(), "image/png"), {"model": "RealESRGAN_x4plus"}, 400, "not yet downloaded"),  # no download for a visitor
    (("a.png", png(), "image/png"), {"model": "drn-s-x8"}, 400, "no shipped weights for drn-s-x8"),
    (("huge.bin", b"\0" * 300_000, "application/octet-stream"), {}, 413, "at most"),
])
def test_bad_uploads_get_a_4xx_json_error_with_the_clis_words(client, upload, data, status, words):
    response = client.post("/api/jobs", files={"image": upload}, data=data)
    assert response.status_code == status and words in response.json()["error"], response.text


def test_a_decompression_bomb_is_refused_from_its_header(client):
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")  # 400 MP, a few kB
    response = client.post("/api/jobs", files={"image": ("bomb.png", buffer.getvalue(), "image/png")})
    assert response.status_code == 413 and "400 MP" in response.json()["error"]  # docs/serve.md: too large


def test_hostile_uploads_get_a_4xx_and_a_phones_heic_is_read(client):
    """What the fuzz battery found answered 500 (a header over the pixel limit that the server
    decoded first, a cut multi-page TIFF, an over-long model) or 400 for a valid HEIC upload."""
    from test_hostile import _tiff_pages_cut_for

    from fuzz.corpus import header_bomb

    bomb = client.post("/api/jobs", files={"image": ("big.png", header_bomb(100_000, 100_000), "image/png")})
    assert bomb.status_code == 413 and "safety limit" in bomb.json()["error"]
    cut = client.post("/api/jobs", files={"image": ("cut.tif", _tiff_pages_cut_for(TypeError), "image/tiff")})
    assert cut.status_code == 400 and "cut.tif: not a readable image" in cut.json()["error"]
    long = client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")}, data={"model": "m" * 5000})
    assert long.status_code == 400 and "not a model this page offers" in long.json()["error"]
    pillow_heif = pytest.importorskip("pillow_heif", reason="HEIC needs pillow-heif (the [test] extra installs it)")
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.fromarray(photo(16, 20)).save(buffer, format="HEIF")
    heic = client.post("/api/jobs", files={"image": ("IMG_0001.HEIC", buffer.getvalue(), "image/heic")})
    assert heic.status_code == 201, heic.text
    assert wait(client, heic.json()["id"])["status"] == "done"


def test_uploaded_names_are_never_paths_and_the_folder_goes_with_the_server(shipped_tiny, tmp_path):
    import tempfile
    from pathlib import Path

    with TestClient(create_app(device="cpu")) as c:
        job = c.post("/api/jobs", files={"image": ("../../evil.png", png(), "image/png")}).json()
        assert wait(c, job["id"])["name"] == "evil.png"
        [folder] = [p for p in Path(tempfile.gettempdir()).glob("drn-serve-*") if (p / f"{job['id']}.result.png").is_file()]
        assert sorted(p.name for p in folder.iterdir() if "evil" in p.name) == []  # stored under names the server made
    assert not folder.exists()  # removed with the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(weights_dir, port: int) -> subprocess.Popen:
    env = {**os.environ, "DRN_WEIGHTS_DIR": str(weights_dir)}
    process = subprocess.Popen([sys.executable, "-m", "drn_cli", "serve", "--port", str(port), "--device", "cpu"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.communicate())
            time.sleep(0.1)
    process.kill()
    raise AssertionError("drn serve did not start")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_command_serves_the_page_and_stops_cleanly(shipped_tiny, stop):
    import httpx

    port = free_port()
    process = start_server(shipped_tiny, port)
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "<title>drn" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/app.js", timeout=10).status_code == 200
    finally:
        process.send_signal(stop)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in err and "Traceback" not in err


@contextlib.contextmanager
def page_in_chromium(weights_dir: Path, downloads: Path | None = None):
    """(browser, port): headless Chromium (Debian's, driven by Selenium) on the page of a `drn serve`
    started with `weights_dir`, the model choices loaded; skips with the reason where there is no
    Chromium. The browser and the server are stopped afterwards."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (the test extra)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("no Chromium here: apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1000"):
        options.add_argument(flag)
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False})
    port = free_port()
    server = start_server(weights_dir, port)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(browser, 20).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#model option")) > 1)
        yield browser, port
    finally:
        browser.quit()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def test_the_page_in_a_real_browser(shipped_tiny, tmp_path):
    """Open the page, upload an image, wait for the result, move the slider, show the confidence
    map, download the result and check the file."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    sample = Path(__file__).resolve().parents[1] / "docs" / "images" / "sample.png"  # a Kodak crop, 125x125
    shutil.copy(sample, tmp_path / "photo.png")
    with page_in_chromium(shipped_tiny, downloads) as (browser, _):
        assert browser.find_element(By.ID, "model").get_attribute("value") == ""  # auto, as drn upscale without --model
        browser.find_element(By.ID, "files").send_keys(str(tmp_path / "photo.png"))
        WebDriverWait(browser, 60).until(lambda b: b.find_element(By.CSS_SELECTOR, ".job .status").text == "done")
        card = browser.find_element(By.CSS_SELECTOR, ".job")
        info = card.find_element(By.CSS_SELECTOR, ".info").text  # a clean PNG, said in plain words
        assert info == "drn-s-x4, no cleaning (the picture looked clean): 125x125 -> 500x500", info
        assert card.find_element(By.CSS_SELECTOR, ".result").is_displayed()
        labels = [e.text for e in card.find_elements(By.CSS_SELECTOR, ".label") if e.is_displayed()]
        assert labels == ["Before", "After"]
        WebDriverWait(browser, 20).until(lambda b: b.execute_script(
            "return document.querySelector('.after').naturalWidth") == 500)
        clip = card.find_element(By.CSS_SELECTOR, ".before-clip")
        browser.execute_script("const s = document.querySelector('.slider'); s.value = 20;"
                               "s.dispatchEvent(new Event('input'));")
        assert clip.value_of_css_property("width") != "" and browser.execute_script(
            "return document.querySelector('.before-clip').style.width") == "20%"
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(tmp_path / "serve.png"))
        if os.environ.get("DRN_SCREENSHOT"):  # how docs/images/serve.png is made
            shutil.copy(tmp_path / "serve.png", os.environ["DRN_SCREENSHOT"])
        toggle = card.find_element(By.CSS_SELECTOR, ".show-confidence")
        assert not card.find_element(By.CSS_SELECTOR, ".confidence").is_displayed()
        assert not card.find_element(By.CSS_SELECTOR, ".legend").is_displayed()
        toggle.click()
        WebDriverWait(browser, 10).until(lambda b: card.find_element(By.CSS_SELECTOR, ".confidence").is_displayed())
        legend = card.find_element(By.CSS_SELECTOR, ".legend")  # what bright and dark mean
        assert legend.is_displayed() and "bright where it does not" in legend.text
        browser.set_window_size(390, 844)  # a phone: nothing wider than the screen
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        browser.set_window_size(1100, 1000)
        card.find_element(By.CSS_SELECTOR, ".download").click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(downloads.glob("*.png")):
            time.sleep(0.1)
        [saved] = list(downloads.glob("*.png"))
        assert saved.name == "photo_upscaled.png" and Image.open(saved).size == (500, 500)
        assert np.asarray(Image.open(saved)).std() > 0
        frames = [Image.fromarray(photo(24, 20, seed=s)) for s in range(3)]  # an animation comes back animated
        frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
        browser.find_element(By.ID, "files").send_keys(str(tmp_path / "anim.gif"))
        WebDriverWait(browser, 60).until(lambda b: [c.text for c in b.find_elements(By.CSS_SELECTOR, ".job .status")] == ["done", "done"])
        info = browser.find_elements(By.CSS_SELECTOR, ".job .info")[0].text  # new cards go on top
        assert info.endswith(": 20x24 -> 80x96, 3 frames"), info
        assert browser.execute_script("return document.querySelector('.after').src").endswith("/result")
        anim = browser.find_elements(By.CSS_SELECTOR, ".job")[0]  # plays: no split of two moments
        assert not anim.find_element(By.CSS_SELECTOR, ".slider").is_displayed()
        assert not [e for e in anim.find_elements(By.CSS_SELECTOR, ".label") if e.is_displayed()]
        assert "every one of its 3 frames" in anim.find_element(By.CSS_SELECTOR, ".note").text
        (tmp_path / "clip.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + bytes(64))  # a video dropped on the page
        browser.find_element(By.ID, "files").send_keys(str(tmp_path / "clip.mp4"))
        WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".job .error")[0].is_displayed())
        said = browser.find_elements(By.CSS_SELECTOR, ".job .error")[0].text
        assert 'drn upscale "clip.mp4"' in said and "not a readable image" not in said, said
        page = browser.find_element(By.TAG_NAME, "body").text
        assert "ghost" not in page and "denoise" not in page and "model's own" not in page  # no jargon


def test_an_animated_upload_comes_back_animated_and_a_multi_page_tiff_says_it_was_cut(client):
    frames = [Image.fromarray(photo(24, 20, seed=s)) for s in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=[50, 100, 150], loop=0)
    job = wait(client, client.post("/api/jobs", files={"image": ("clip.gif", buffer.getvalue(), "image/gif")}).json()["id"])
    assert job["status"] == "done" and (job["frames"], job["animated"], job["compare"]) == (3, None, False), job
    result = client.get(f"/api/jobs/{job['id']}/result")
    assert result.headers["content-type"] == "image/gif" and "clip_upscaled.gif" in result.headers["content-disposition"]
    with Image.open(io.BytesIO(result.content)) as gif:
        assert (gif.n_frames, gif.size) == (3, (80, 96))
    assert client.get(f"/api/jobs/{job['id']}/input").content == buffer.getvalue()  # the upload itself
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/results.zip?ids={job['id']}").content))
    assert archive.namelist() == ["01_clip_upscaled.gif"]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    job = wait(client, client.post("/api/jobs", files={"image": ("pages.tif", buffer.getvalue(), "image/tiff")}).json()["id"])
    assert job["status"] == "done" and (job["frames"], job["animated"]) == (None, 3), job


def test_a_job_with_a_strength_runs_the_blend_and_says_so(client):
    job = client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")}, data={"denoise": "0.5"}).json()
    done = wait(client, job["id"])
    assert done["status"] == "done" and done["denoise"] == 0.5 and done["model"] == "drn-s-x4+drn-s-x4-real"
    bad = client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")}, data={"denoise": "2"})
    assert bad.status_code == 400 and "--denoise must be auto or between 0 and 1, got 2" in bad.json()["error"]


def test_the_adapt_box_adapts_the_model_to_the_picture_and_says_what_it_did(client):
    job = wait(client, client.post("/api/jobs", files={"image": ("a.png", png(40, 44), "image/png")},
                                   data={"adapt": "1"}).json()["id"], seconds=120)
    assert job["status"] == "done" and job["size_out"] == [176, 160], job
    assert job["adapted"] and ("self-pair L1" in job["adapted"]), job
    plain = wait(client, client.post("/api/jobs", files={"image": ("a.png", png(40, 44), "image/png")}).json()["id"])
    assert plain["adapted"] is None
    refused = client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")}, data={"adapt": "1", "denoise": "0.5"})
    assert refused.status_code == 400 and "--adapt trains one model" in refused.json()["error"]


def test_compare_keeps_both_models_outputs_and_needs_a_pair(client, shipped_tiny):
    job = wait(client, client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")}, data={"compare": "1"}).json()["id"])
    assert job["status"] == "done" and job["compare"] and job["denoise"] == 0, job
    clean, photo, result = (client.get(f"/api/jobs/{job['id']}/{what}").content for what in ("clean", "photo", "result"))
    assert result == clean != photo  # auto chose the clean model; the photo model ran besides
    assert job["progress"] == 1.0
    blend = wait(client, client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")},
                                     data={"compare": "1", "denoise": "0.5"}).json()["id"])
    ends = [client.get(f"/api/jobs/{blend['id']}/{what}").content for what in ("clean", "photo")]
    assert ends == [clean, photo] and blend["progress"] == 1.0  # at S = 0.5 both ends ran again
    named = wait(client, client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")},
                                     data={"compare": "1", "model": "drn-s-x4-real"}).json()["id"])
    result = client.get(f"/api/jobs/{named['id']}/result").content
    assert (named["model"], named["denoise"]) == ("drn-s-x4-real", 1)  # the named model is the photo end
    assert result == photo == client.get(f"/api/jobs/{named['id']}/photo").content
    assert client.get(f"/api/jobs/{named['id']}/clean").content == clean
    save_weights(shipped_tiny / "drn-s-x8.safetensors", tiny_weights(scale=8))  # a model without a partner
    refused = client.post("/api/jobs", files={"image": ("a.png", png(), "image/png")}, data={"compare": "1", "model": "drn-s-x8"})
    assert refused.status_code == 400 and "compare shows a clean and a photo model" in refused.json()["error"]


def test_the_cleaning_slider_blends_the_two_models_in_the_browser(tmp_path):
    """Compare cleaning: the page blends the clean and the photo output at the slider's S, as
    drn upscale --denoise S does (up to the canvas's rounding), and downloads that blend. The
    photo model is left untrained, so that the two outputs are far apart."""
    import base64
    import urllib.request

    weights = tmp_path / "weights"
    weights.mkdir()
    save_weights(weights / "drn-s-x4.safetensors", tiny_weights())
    save_weights(weights / "drn-s-x4-real.safetensors", tiny_weights(seed=1, bicubic=False))

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shutil.copy(Path(__file__).resolve().parents[1] / "docs" / "images" / "sample.png", tmp_path / "photo.png")
    with page_in_chromium(weights) as (browser, port):
        browser.find_element(By.ID, "compare").click()
        browser.find_element(By.ID, "files").send_keys(str(tmp_path / "photo.png"))
        WebDriverWait(browser, 60).until(lambda b: b.find_element(By.CSS_SELECTOR, ".job .status").text == "done")
        card = browser.find_element(By.CSS_SELECTOR, ".job")
        WebDriverWait(browser, 20).until(lambda b: card.find_element(By.CSS_SELECTOR, ".cleaning").is_displayed())
        job_id = card.get_attribute("data-id")
        browser.execute_script("const s = document.querySelector('.strength'); s.value = 50;"
                               "s.dispatchEvent(new Event('input'));")
        WebDriverWait(browser, 20).until(lambda b: b.execute_script(
            "return document.querySelector('.after').src.startsWith('blob:')"))
        assert card.find_element(By.CSS_SELECTOR, ".strength-value").text == "0.50"
        assert card.find_element(By.CSS_SELECTOR, ".download").get_attribute("download") == "photo_upscaled_denoise0.50.png"
        shown = browser.execute_async_script(
            "const done = arguments[0]; fetch(document.querySelector('.after').src).then((r) => r.blob())"
            ".then((b) => { const f = new FileReader(); f.onload = () => done(f.result); f.readAsDataURL(b); });")
        blended = np.asarray(Image.open(io.BytesIO(base64.b64decode(shown.split(",", 1)[1]))).convert("RGB")).astype(int)

        def fetched(what: str) -> np.ndarray:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs/{job_id}/{what}") as response:
                return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB")).astype(int)

        clean, photo = fetched("clean"), fetched("photo")
        assert np.abs(clean - photo).mean() > 20  # two different models
        assert np.abs(blended - (clean + photo) / 2).max() <= 2
        browser.set_window_size(390, 844)  # a phone: the cleaning slider fits too
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390


def test_the_adapt_box_in_the_browser(shipped_tiny, tmp_path):
    """The box is labelled in plain words, and a picture sent with it says what adapting did."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    Image.fromarray(photo(48, 52, seed=3)).save(tmp_path / "small.png")
    with page_in_chromium(shipped_tiny) as (browser, _):
        box = browser.find_element(By.ID, "adapt")
        assert "Adapt to this picture" in box.find_element(By.XPATH, "..").text
        box.click()
        browser.find_element(By.ID, "files").send_keys(str(tmp_path / "small.png"))
        WebDriverWait(browser, 120).until(lambda b: b.find_element(By.CSS_SELECTOR, ".job .status").text == "done")
        info = browser.find_element(By.CSS_SELECTOR, ".job .info").text
        assert "52x48 -> 208x192" in info and ("adapted to" in info or "did not help" in info), info


def test_the_page_says_why_in_plain_words_for_the_new_readings(shipped_tiny, tmp_path):
    """A drawing with hard pixel edges and a JPEG whose encoder had its own tables (read by its
    blocks, as Lincoln's old scan) each say why they got the photo model without jargon."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    Image.fromarray(scene(96)).save(tmp_path / "drawing.png")
    table = [20] * 64
    table[0], table[1], table[8] = 8, 6, 6  # no libjpeg quality makes this table
    Image.fromarray(scene(128, seed=3)).save(tmp_path / "scan.jpg", qtables=[table, [30] * 64])
    Image.open(tmp_path / "scan.jpg").save(tmp_path / "scan.png")
    with page_in_chromium(shipped_tiny) as (browser, _):
        browser.find_element(By.ID, "files").send_keys(f"{tmp_path / 'drawing.png'}\n{tmp_path / 'scan.png'}")
        WebDriverWait(browser, 120).until(lambda b: [e.text for e in b.find_elements(By.CSS_SELECTOR, ".job .status")]
                                          == ["done", "done"])
        infos = sorted(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".job .info"))
    assert infos[0].startswith("drn-s-x4-real, full cleaning (a drawing with hard pixel edges, which the photo "
                               "model draws without notches)"), infos
    assert infos[1].startswith("drn-s-x4-real, full cleaning (it was saved as a JPEG before (quality about "), infos


def test_a_video_upload_says_where_videos_go(client, tmp_path):
    pytest.importorskip("av", reason="making a test video needs PyAV (the [video] extra)")
    from test_video import make_clip

    make_clip(tmp_path / "clip.mp4", frames=3, size=(32, 24), audio=False)
    response = client.post("/api/jobs", files={"image": ("holiday.bin", (tmp_path / "clip.mp4").read_bytes(),
                                                         "application/octet-stream")})
    assert response.status_code == 400 and "drn upscale holiday.bin" in response.json()["error"], response.text
