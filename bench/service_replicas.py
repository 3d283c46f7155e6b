"""Throughput and p95 of ``POST /qapflow/solve`` (nug12, n = 12, time_limit 0.01) from 16 clients, for the service
on SQLite (one replica) and on PostgreSQL with 1, 2 and 3 replicas, and with 2 replicas sending their solves to a
Dask cluster of 2 workers: one run, every configuration in turn on this machine.

Every configuration is real: ``mezan serve`` processes (API keys on: each request is authenticated and its key's
rate limit counted — in the store, so on PostgreSQL one bucket shared by all replicas), behind one address — nginx
(Debian's, installed when missing) balancing over the replicas with keep-alive connections, as in a deployment —,
loaded by wrk (also installed when missing) with --connections connections for --duration seconds after a warm-up.
The PostgreSQL server is a throwaway one (initdb in a temporary folder, tests/pg_server.py), with the durability of
a default server (fsync on); the Dask cluster is a ``dask scheduler`` and single-thread ``dask worker`` processes
started here.

    python bench/service_replicas.py [--connections 16] [--duration 15] [--workers 2] [--dask-workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]
from local_server import free_port  # noqa: E402
from service_load import LUA, dask_cluster  # noqa: E402

NGINX = """
worker_processes 1;
pid %(home)s/nginx.pid;
error_log %(home)s/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(home)s/body;
  proxy_temp_path %(home)s/proxy;
  fastcgi_temp_path %(home)s/fastcgi;
  uwsgi_temp_path %(home)s/uwsgi;
  scgi_temp_path %(home)s/scgi;
  upstream mezan { %(servers)s keepalive 64; }
  server {
    listen 127.0.0.1:%(port)d;
    client_max_body_size 8m;
    location / {
      proxy_pass http://mezan;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1;
    }
  }
}
"""


def ensure(command: str, package: str) -> str:
    """The path of ``command``, installing Debian's ``package`` when it is missing."""
    path = shutil.which(command)
    if path is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", package], check=True,
                       env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which(command)
    assert path is not None, f"{command} not found after installing {package}"
    return path


def wait_health(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"a replica on port {port} did not start")


@contextlib.contextmanager
def replicas(store: str, count: int, serve_args: list[str], home: Path):
    """``count`` ``mezan serve`` processes on ``store``: their ports."""
    ports = [free_port() for _ in range(count)]
    procs = []
    try:
        for k, port in enumerate(ports):
            with open(home / f"replica-{k}.log", "w") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "mezan.cli", "serve", "--port", str(port),
                                               "--store", store, *serve_args], stdout=log, stderr=subprocess.STDOUT,
                                              env=os.environ | {"MEZAN_HOME": str(home)}))
        for port in ports:
            wait_health(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def balancer(nginx: str, ports: list[int], home: Path):
    """nginx on one port, balancing over ``ports``: its port."""
    port = free_port()
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (home / folder).mkdir(exist_ok=True)
    conf = home / "nginx.conf"
    conf.write_text(NGINX % {"home": home, "port": port,
                             "servers": " ".join(f"server 127.0.0.1:{p};" for p in ports)})
    proc = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        wait_health(port)
        yield port
    finally:
        proc.terminate()
        proc.wait()


def load(wrk: str, port: int, key: str, body: str, args, home: Path) -> dict:
    """A warm-up, then one wrk run of --duration seconds: its counts and percentiles."""
    script = home / "post.lua"
    script.write_text(LUA % {"body": body, "key": key})
    url = f"http://127.0.0.1:{port}/qapflow/solve"
    subprocess.run([wrk, "-t1", "-c4", "-d3s", "-s", str(script), url], capture_output=True)
    time.sleep(1.0)  # the warm-up's dropped requests end
    out = subprocess.run([wrk, "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s", "-s",
                          str(script), url], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    r = {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[1:]}
    r["throughput"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
    return r


def measure(label: str, store: str, count: int, serve_args: list[str], tools: dict, body: str, args) -> dict:
    """One configuration: a key in ``store``, ``count`` replicas behind nginx, one measured load."""
    from mezan.service.keys import KeyStore
    from mezan.store import Store

    home = Path(tempfile.mkdtemp(prefix="mezan-replicas-"))
    key = KeyStore(Store(store)).create("solve", "bench", rate_per_minute=1e9, quota=4 * args.connections)[0]
    with replicas(store, count, serve_args, home) as ports, balancer(tools["nginx"], ports, home) as port:
        r = load(tools["wrk"], port, key, body, args, home)
    shutil.rmtree(home, ignore_errors=True)
    print(f"{label}: {r['requests']} requests in {r['duration_us'] / 1e6:.1f} s, {r['throughput']:.1f} req/s, "
          f"p50 {r['p50_us'] / 1e3:.1f} ms, p95 {r['p95_us'] / 1e3:.1f} ms, p99 {r['p99_us'] / 1e3:.1f} ms, "
          f"errors {r['errors']} (non-2xx {r['status']}, timeouts {r['timeout']})", flush=True)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2, help="each replica's solver threads")
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--dask-in-flight", type=int, default=4, help="each replica's solves in flight on Dask")
    args = parser.parse_args()
    tools = {"wrk": ensure("wrk", "wrk"), "nginx": ensure("nginx", "nginx")}
    from pg_server import PostgresServer, binaries

    from mezan.qap import instances, read_qaplib

    problem = read_qaplib(instances.instance_path("nug12"))
    body = json.dumps({"A": problem.A.tolist(), "B": problem.B.tolist(), "mode": "auto", "time_limit": 0.01})
    local = ["--workers", str(args.workers)]
    print(f"POST /qapflow/solve, nug12, time_limit 0.01, {args.connections} connections x {args.duration} s through "
          f"nginx, {os.cpu_count()} cores; each replica --workers {args.workers}", flush=True)
    results = {}
    sqlite_home = Path(tempfile.mkdtemp(prefix="mezan-replicas-sqlite-"))
    results["sqlite, 1 replica"] = measure("sqlite, 1 replica", str(sqlite_home / "mezan.db"), 1, local, tools, body,
                                           args)
    bin_dir = binaries()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    server = PostgresServer(bin_dir, durable=True)
    try:
        for count in (1, 2, 3):
            label = f"postgresql, {count} replica{'s' if count > 1 else ''}"
            results[label] = measure(label, server.new_database(), count, local, tools, body, args)
        with dask_cluster("local", args.dask_workers) as address:
            label = f"postgresql, 2 replicas, dask ({args.dask_workers} workers, {args.dask_in_flight} in flight each)"
            results[label] = measure(label, server.new_database(), 2,
                                     ["--workers", str(args.dask_in_flight), "--scheduler", address], tools, body,
                                     args)
    finally:
        server.close()
        shutil.rmtree(sqlite_home, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "service_replicas.json").write_text(json.dumps({"results": results, "args": vars(args)}, indent=1))


if __name__ == "__main__":
    main()
