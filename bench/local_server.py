"""A real ``mezan serve`` process on 127.0.0.1 for the service benchmarks (load, fuzzing): started on a free
port with its own MEZAN_HOME and store, ready once /health answers, stopped (and its log closed) on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalServer:
    url: str
    home: Path
    store: Path
    process: subprocess.Popen


@contextmanager
def local_server(*serve_args: str, prefix: str = "mezan-bench-", before_start=None):
    """Yield a :class:`LocalServer` running ``mezan serve --port P --store S *serve_args``; ``before_start(store)``
    may prepare the store (e.g. create API keys) before the server opens it."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    store = home / "mezan.db"
    if before_start is not None:
        before_start(store)
    port = free_port()
    with open(home / "server.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "mezan.cli", "serve", "--port", str(port), "--store",
                                    str(store), *serve_args], stdout=log, stderr=subprocess.STDOUT,
                                   env=os.environ | {"MEZAN_HOME": str(home)})
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            yield LocalServer(url, home, store, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
