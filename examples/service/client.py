"""The HTTP service: start ``mezan serve`` on a free local port, wait for ``/health``, POST one solve, stop it.

``POST /mezan/solve`` takes any wire-form problem (here a bundled QAPLIB instance as ``{"type": "qap", ...}``);
MetaFlow picks the solver, records the solve in the server's store, and the answer is the common result record.
The server runs with ``--no-auth`` (local use only; otherwise create a key with ``mezan keys create --scope solve``
and send ``Authorization: Bearer <key>``) and a temporary MEZAN_HOME; it is always stopped at the end.
Run: python examples/service/client.py   (a few seconds)
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from mezan.qap import load

# the `mezan` command of this interpreter's installation (beside it in a virtual environment), else the one on PATH
MEZAN = shutil.which("mezan", path=os.path.dirname(sys.executable)) or shutil.which("mezan") or "mezan"

with socket.socket() as s:  # a free port: bind to port 0 and let the system choose
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
url = f"http://127.0.0.1:{port}"

with tempfile.TemporaryDirectory() as home:
    server = subprocess.Popen([MEZAN, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                               "--no-auth"], env={**os.environ, "MEZAN_HOME": home},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait until /health answers; the server exiting, or 30 s passing, is an error
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start (exit status {server.poll()})")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                    health = json.loads(response.read())
                break
            except OSError:  # not listening (or not ready) yet
                time.sleep(0.2)
        print(f"server up at {url}: health {health['status']}")

        body = {**load("nug12").to_dict(), "time_limit": 1.0, "seed": 1}  # the wire form plus the options
        request = urllib.request.Request(f"{url}/mezan/solve", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        print(f"POST /mezan/solve -> {response.status}: objective {answer['objective']}, status {answer['status']}, "
              f"solver {answer['solver']}, {answer['wall_time']:.3f} s, solution {answer['solution']}")
    finally:  # always stop the server
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
print("server stopped")
