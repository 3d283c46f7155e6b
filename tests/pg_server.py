"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl (Debian's ``postgresql`` package) in a temporary
folder, run as an unprivileged user (the tests run as root; PostgreSQL refuses to), on a free loopback port; one per
pytest worker process, started by the first test that asks and stopped when the worker ends.

Where PostgreSQL is not installed the tests that need it skip, saying so — except under ``make test`` (or CI), which
installs it (the Makefile's TEST_PACKAGES): there a missing server is a failure, never a silent skip.

Fixtures (import them into a test module): ``postgres`` (the server), ``pg_url`` (a new empty database per test).
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "nobody"  # any unprivileged account: PostgreSQL will not run as root
_counter = itertools.count()


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (the newest installed PostgreSQL), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(argv: list[str]) -> list[str]:
    """A command run as USER when this process is root (as itself otherwise)."""
    return ["runuser", "-u", USER, "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    """One PostgreSQL server in a temporary folder on 127.0.0.1:``port`` (trust authentication, user ``mezan``);
    ``durable``: fsync on, as a default server (the tests turn it off: speed over durability)."""

    def __init__(self, bin_dir: Path, durable: bool = False) -> None:
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="mezan-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.log = self.folder / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.folder, USER)
        subprocess.run(_as_user([str(bin_dir / "initdb"), "-D", str(self.data), "-U", "mezan", "-A", "trust",
                                 "--no-locale", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, cwd=self.folder)
        fast = "" if durable else "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = "
                       f"'{self.folder}'\n{fast}max_connections = 300\nshared_buffers = 32MB\n")
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://mezan@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *argv: str) -> None:
        subprocess.run(_as_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", *argv]),
                       check=True, capture_output=True, cwd=self.folder)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """Restart the server (every connection is dropped)."""
        self._ctl("restart", "-m", "fast")

    def pids(self) -> list[int]:
        """The postmaster and its children (pausing them all is a network pause: nothing answers)."""
        main = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(main)], capture_output=True, text=True).stdout.split()
        return [main, *map(int, children)]

    def pause(self) -> list[int]:
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    def resume(self, pids: list[int]) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    def new_database(self) -> str:
        """A new, empty database: its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop()
        except (subprocess.CalledProcessError, OSError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


_server: PostgresServer | None = None


def required() -> bool:
    """Whether a missing PostgreSQL is a failure: under `make test` (MAKELEVEL) or CI."""
    return bool(os.environ.get("MAKELEVEL") or os.environ.get("CI"))


def server() -> PostgresServer:
    """This process's server, started on first use; skips (or fails, see :func:`required`) without PostgreSQL."""
    global _server
    if _server is None:
        bin_dir = binaries()
        if bin_dir is None:
            message = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): apt-get install postgresql, "
                       "or run `make test`, which installs it")
            if required():
                pytest.fail(message)
            pytest.skip(message)
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pytest.fail("psycopg is not installed: pip install 'mezan[postgres]'")
        _server = PostgresServer(bin_dir)
        atexit.register(_server.close)
    return _server


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """The worker's PostgreSQL server."""
    return server()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A new, empty database on the worker's server."""
    return postgres.new_database()
