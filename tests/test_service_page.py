"""The live page rendered by a real browser: headless Chromium (Debian's ``chromium``, installed by
``make test``) loads ``GET /`` from a running server; the DOM must hold the jobs table and the anytime
curve, and the screenshot must show the curve's blue line."""

import json
import shutil
import subprocess
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi")

from mezan.service.keys import KeyStore
from mezan.store import Store

from conftest import free_port, start_server

CURVE_BLUE = (0x1F, 0x6F, 0xEB)


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium (or: apt-get install chromium)")
    return [path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--window-size=900,1100"]


@pytest.mark.slow
def test_page_shows_jobs_and_the_anytime_curve_in_chromium(tmp_path):
    browser = chromium()
    store = tmp_path / "mezan.db"
    key = KeyStore(Store(store)).create("solve", "page")[0]
    port = free_port()
    proc = start_server(store, port)
    try:
        rng = np.random.default_rng(5)
        A, B = rng.integers(0, 20, (2, 40, 40)).tolist()
        body = json.dumps({"route": "qapflow", "A": A, "B": B, "mode": "hybrid", "time_limit": 1.5, "seed": 2}).encode()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/jobs", body, headers)) as r:
            job_id = json.loads(r.read())["id"]
        for _ in range(100):
            with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/jobs/{job_id}",
                                                               headers=headers)) as r:
                job = json.loads(r.read())
            if job["status"] == "done":
                break
            subprocess.run(["sleep", "0.1"])
        assert job["status"] == "done" and len(job["curve"]) >= 2
        url = f"http://127.0.0.1:{port}/?key={key}&job={job_id}"
        dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
        assert f">{job_id}</a>" in dom and '<td class="status">done</td>' in dom
        assert '<polyline class="curve"' in dom and dom.count('class="point"') == len(job["curve"])
        assert f"{job['progress']['best_objective']:.6g}" in dom  # the y axis ends at the final best
        shot = tmp_path / "page.png"
        subprocess.run([*browser, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
        import matplotlib.image

        pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round().astype(int)
        blue = np.all(np.abs(pixels - np.array(CURVE_BLUE)) <= 8, axis=-1)
        assert blue.sum() > 200, f"the curve's line is not on the screenshot ({blue.sum()} blue pixels)"
        _rows, cols = np.nonzero(blue)
        assert cols.max() - cols.min() > 200  # a line across the chart, not a dot
    finally:
        proc.terminate()
        proc.wait(timeout=20)
