"""The web app (``tf-nst --serve``): the page driven in a real headless Chromium (Debian's chromium and
chromium-driver, through Selenium), its runs, queue and uploads over HTTP, and the command that serves it.

The browser tests skip without Chromium, its driver or Selenium, and every test here without the ``web`` extra.
Set ``TF_NST_WEB_SHOTS`` to a directory to keep the browser's screenshots of the page (start, mid-run, end).
"""

import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from conftest import REPO, SHALLOW, SHALLOW_LAYERS, gradient_image, run_command
from image_bytes import encode, png_bomb
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("python_multipart")

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT = 120  # seconds a step of a test may take at most on a slow, shared machine
# the app's defaults: shallow layers for speed; float32 and op determinism, so a run is bit-reproducible
SETTINGS = dict(SHALLOW, precision="float32", deterministic=True, seed=0)
PROGRESS = re.compile(r"Level [12] of 2 · evaluation \d+ of \d+ · [\d.]+ s per evaluation · (about )?[\d:]+ left")


@pytest.fixture(scope="module")
def server():
    """The app served from this process (previews every 0.3 s); its address."""
    from tf_nst.config import StyleTransferConfig
    from tf_nst.web.server import running

    with running(StyleTransferConfig(**SETTINGS), preview_seconds=0.3) as address:
        yield address


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium driven by Selenium; downloads go to ``browser.downloads``."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def wait_for(condition, what: str, timeout: float = WAIT):
    """``condition()``'s first true value, looked for every 0.1 s; fails naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def text(browser, element_id: str) -> str:
    return browser.find_element("id", element_id).text


def shot(browser, name: str) -> None:
    """Keep a screenshot of the page when TF_NST_WEB_SHOTS names a directory."""
    directory = os.environ.get("TF_NST_WEB_SHOTS")
    if directory:
        os.makedirs(directory, exist_ok=True)
        browser.save_screenshot(os.path.join(directory, f"{name}.png"))


def set_value(browser, element_id: str, value: str) -> None:
    field = browser.find_element("id", element_id)
    field.clear()
    field.send_keys(value)


def preview_pixels(browser) -> str | None:
    """The preview as the page shows it, as a data URL (None while there is none)."""
    return browser.execute_script(
        """const image = document.getElementById('preview');
        if (image.hidden || !image.complete || !image.naturalWidth) return null;
        const canvas = document.createElement('canvas');
        canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
        canvas.getContext('2d').drawImage(image, 0, 0);
        return canvas.toDataURL();"""
    )


def open_page(browser, server) -> None:
    browser.get(server)
    wait_for(lambda: browser.find_elements("id", "control-steps"), "the controls")
    wait_for(lambda: browser.find_elements("css selector", "#paintings .choice.selected"), "the demo painting")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_page_paints_stops_and_downloads_what_the_library_makes(server, browser, tmp_path):
    import tf_nst
    from tf_nst.config import StyleTransferConfig
    from tf_nst.io.demo import demo_content, demo_style
    from tf_nst.io.images import to_uint8
    from tf_nst.seeding import seed_run

    photo, painting = np.asarray(demo_content()), gradient_image(64, 64, 2)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(painting).save(tmp_path / "painting.png")
    open_page(browser, server)
    defaults = StyleTransferConfig()
    assert browser.find_element("id", "control-max_size").get_attribute("value") == str(defaults.max_size)
    assert browser.find_element("id", "control-preserve_colors").get_attribute("value") == defaults.preserve_colors
    shot(browser, "start")

    # the demo photo uploaded; the uploaded painting and the demo painting, blended 3:1
    browser.find_element("id", "photo-file").send_keys(str(tmp_path / "photo.png"))
    wait_for(lambda: "photo.png" in text(browser, "photos"), "the uploaded photo")
    assert browser.find_element("css selector", "#photos .choice.selected").get_attribute("title") == "photo.png"
    browser.find_element("id", "painting-file").send_keys(str(tmp_path / "painting.png"))
    wait_for(lambda: "painting.png" in text(browser, "paintings"), "the uploaded painting")
    browser.find_element("css selector", '#paintings .choice[data-id="demo-painting"]').click()
    wait_for(lambda: len(browser.find_elements("css selector", "#paintings .choice.selected")) == 2, "two paintings")
    blend = {'[data-id="demo-painting"]': "1", ':not([data-id="demo-painting"])': "3"}  # the upload: 3
    for which, weight in blend.items():
        field = browser.find_element("css selector", f"#paintings .choice.selected{which} .weight")
        field.clear()
        field.send_keys(weight)
    set_value(browser, "control-max_size", "96")

    # a long run: progress, two different previews, then Stop keeps its latest picture
    set_value(browser, "control-steps", "3000")
    browser.find_element("id", "start").click()
    wait_for(lambda: PROGRESS.search(text(browser, "status")), "the progress line")
    previews = set()
    wait_for(lambda: previews.add(preview_pixels(browser)) or len(previews - {None}) >= 2, "two different previews")
    shot(browser, "mid")
    browser.find_element("id", "stop").click()
    wait_for(lambda: "Stopped after evaluation" in text(browser, "status"), "the run to stop")
    stopped = browser.find_element("id", "download").get_attribute("href")
    with Image.open(io.BytesIO(get(stopped))) as kept:
        assert kept.size == (96, 72)  # the latest picture, at the size asked for
    wait_for(lambda: len(browser.find_elements("css selector", "#gallery .result")) == 1, "the first result")

    # a short run to its end, downloaded and compared with the library's for the same settings
    set_value(browser, "control-steps", "4")
    browser.find_element("id", "start").click()
    wait_for(lambda: text(browser, "status").startswith("Done"), "the run to finish")
    wait_for(lambda: len(browser.find_elements("css selector", "#gallery .result")) == 2, "both results")
    gallery = text(browser, "gallery")
    assert "96x72 px · photo.png in the style of painting.png ×0.75, demo painting ×0.25" in gallery
    assert "96 px, style strength 25, stroke matching 3, colours none, style scale 1, 4 steps" in gallery
    assert "3000 steps" in gallery and "Stopped after evaluation" in gallery
    shot(browser, "end")
    browser.find_element("id", "download").click()
    downloaded = wait_for(
        lambda: [p for p in browser.downloads.iterdir() if p.suffix == ".png" and p.stat().st_size], "the download"
    )
    config = StyleTransferConfig(**SETTINGS, max_size=96, steps=4, style_blend_weights=(3.0, 1.0))
    seed_run(config)
    expected = to_uint8(tf_nst.stylize(photo, [painting, np.asarray(demo_style())], config))
    with Image.open(downloaded[0]) as image:
        assert image.format == "PNG"
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), expected)


def test_bad_uploads_get_one_clear_message_and_the_server_keeps_serving(server, browser, tmp_path):
    whole = encode(gradient_image(96, 64), "PNG")
    files = {
        "notes.png": (b"these are words, not pixels\n" * 10, "notes.png: not an image file"),
        "truncated.png": (whole[: len(whole) // 2], "truncated.png: cannot decode image"),
        "huge.png": (png_bomb(20000), "huge.png: 400000000 pixels is over the limit of 100000000 pixels"),
    }
    open_page(browser, server)
    for name, (data, message) in files.items():
        (tmp_path / name).write_bytes(data)
        browser.find_element("id", "photo-file").send_keys(str(tmp_path / name))
        shown = wait_for(lambda name=name: name in text(browser, "message") and text(browser, "message"), name)
        assert shown.startswith(message) and "\n" not in shown, shown
        assert json.loads(get(server + "api/settings"))["controls"]  # still serving
    assert [p["id"] for p in json.loads(get(server + "api/pictures"))["photo"]][:1] == ["demo-photo"]
    assert not any(p["name"] in files for p in json.loads(get(server + "api/pictures"))["photo"])


def post(server: str, path: str, fields: dict) -> dict:
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(server + path, data, timeout=30) as response:
        return json.loads(response.read())


def events(server: str, job_id: str) -> tuple[http.client.HTTPConnection, object]:
    """An open event stream of run ``job_id``: the connection and a generator of its statuses."""
    address = urllib.parse.urlsplit(server)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=WAIT)
    connection.request("GET", f"/api/jobs/{job_id}/events")
    response = connection.getresponse()
    assert response.headers["Content-Type"].startswith("text/event-stream")

    def statuses():
        for line in response:
            if line.startswith(b"data: "):
                yield json.loads(line[6:])

    return connection, statuses()


def test_one_run_at_a_time_the_next_waits_and_a_closed_page_stops_its_run(server):
    run = {"photo": "demo-photo", "paintings": "demo-painting", "weights": "1", "max_size": "64", "steps": "5000"}
    first = post(server, "api/jobs", run)
    connection, statuses = events(server, first["id"])
    assert next(s for s in statuses if s["evaluation"] > 0)["state"] == "running"
    second = post(server, "api/jobs", run)
    assert (second["state"], second["place"]) == ("queued", 1)
    connection.close()  # the first run's page went away
    status = wait_for(lambda: json.loads(get(server + f"api/jobs/{first['id']}"))["state"] == "stopped", "a stop")
    assert status
    stopped = json.loads(get(server + f"api/jobs/{first['id']}"))
    assert stopped["message"].startswith("Stopped after evaluation") and stopped["result"]
    wait_for(lambda: json.loads(get(server + f"api/jobs/{second['id']}"))["state"] == "running", "the next run")
    post(server, f"api/jobs/{second['id']}/stop", {})
    wait_for(lambda: json.loads(get(server + f"api/jobs/{second['id']}"))["state"] == "stopped", "the second stop")
    with pytest.raises(urllib.error.HTTPError) as refused:
        post(server, "api/jobs", dict(run, max_size="8"))
    assert "Output size (px): must be at least 32" in json.loads(refused.value.read())["error"]


def test_the_page_and_its_assets_come_from_the_app_alone(server):
    page = get(server).decode()
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)
    assert sorted(assets) == ["/assets/app.css", "/assets/app.js"]
    for text_ in [page, *(get(server + asset[1:]).decode() for asset in assets)]:
        assert not re.search(r"https?://|//[a-z]", text_, re.I)  # no CDN, no other host
    for path in ("assets/../web/app.py", "assets/%2e%2e%2fapp.py", "api/pictures/..%2f..%2fetc%2fpasswd/thumbnail.png"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            get(server + path)
        assert missing.value.code == 404


def test_serve_prints_its_address_and_ctrl_c_stops_it_and_removes_the_uploads(tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = dict(os.environ, TMPDIR=str(temporary), TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "--serve", "--port=0", *SHALLOW_LAYERS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        line = process.stdout.readline()
        address = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert address, line
        assert b"tf_nst" in get(address[0])
        body = b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\npainting\r\n--b\r\nContent-Disposition: '
        body += b'form-data; name="file"; filename="../../p.png"\r\nContent-Type: image/png\r\n\r\n'
        body += encode(gradient_image(64, 64), "PNG") + b"\r\n--b--\r\n"
        request = urllib.request.Request(
            address[0] + "api/pictures", body, {"Content-Type": "multipart/form-data; boundary=b"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["name"] == "p.png"  # a name only, never a path
        (uploads,) = temporary.iterdir()
        assert len(list(uploads.iterdir())) == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 0
        assert "Traceback" not in process.stderr.read()
        assert list(temporary.iterdir()) == []  # the uploads' directory is gone
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    "flags, message",
    [(["--port=8080"], "--port: only used with --serve"), (["--serve", "--output=a.png"], "it takes no --output")],
)
def test_serve_flags_that_do_not_go_together_are_refused(flags, message):
    result = run_command(*flags)
    assert result.returncode == 2 and message in result.stderr


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch):
    import tf_nst.web
    from tf_nst.config import StyleTransferConfig

    monkeypatch.setattr(tf_nst.web, "REQUIRED", {"tf_nst_no_such_module": "starlette"})
    with pytest.raises(tf_nst.web.WebUnavailable, match=r"pip install 'tf_nst\[web\]'"):
        tf_nst.web.serve(StyleTransferConfig())
