"""One CLI: every option has help, every command that prints has --json, --time and --seed have one default, the
commands' one-line help comes from the one table, and ``mezan --help`` imports no command module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from mezan import __version__
from mezan.cli import COMMANDS, build_app, main
from mezan.cli.common import DEFAULT_SEED, DEFAULT_TIME, about
from mezan.cli.root import load

ROOT = typer.main.get_command(build_app())
QUIET = {"serve", "mcp"}  # servers: they print a log, not a result


def leaves(command=ROOT, path=()):
    if hasattr(command, "commands"):
        for name in command.list_commands(None):
            yield from leaves(command.get_command(None, name), (*path, name))
    else:
        yield " ".join(path), command


LEAVES = dict(leaves())


def test_every_command_is_reached():
    assert {"solve", "bench run", "bench sweep", "meta aslib evaluate", "keys create", "agents list"} <= set(LEAVES)


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_and_argument_has_help(name):
    missing = [p.name for p in LEAVES[name].params if not getattr(p, "help", None)]
    assert not missing, f"mezan {name}: no help for {missing}"


@pytest.mark.parametrize("name", sorted(n for n in LEAVES if n not in QUIET))
def test_every_command_that_prints_has_json(name):
    assert any("--json" in p.opts for p in LEAVES[name].params), f"mezan {name} has no --json"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_time_and_seed_have_one_default(name):
    for param in LEAVES[name].params:
        if "--time" in param.opts:
            assert param.default == DEFAULT_TIME, f"mezan {name} --time defaults to {param.default}"
        if "--seed" in param.opts:
            assert param.default == DEFAULT_SEED, f"mezan {name} --seed defaults to {param.default}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_one_line_help_comes_from_the_table(name):
    command = load(COMMANDS[name][0])[name]
    assert command.get_short_help_str(limit=200) == about(name)


def test_help_imports_no_command_module():
    code = ("import sys; from mezan.cli import main; main(['--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('mezan.', 'sklearn', 'scipy', 'rich'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out.strip().splitlines()[-1])
    assert "mezan.cli.root" in loaded
    heavy = [m for m in loaded if m.startswith(("mezan.cli.bench", "mezan.cli.meta", "mezan.cli.solve", "mezan.qap",
                                                  "mezan.meta", "mezan.bench", "sklearn", "scipy", "rich"))]
    assert not heavy, heavy


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mezan {__version__}"


def test_solve_finds_an_instance_in_mezan_qaplib(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "qaplib"
    folder.mkdir()
    (folder / "tiny4.dat").write_text("4\n\n0 1 2 3\n1 0 1 2\n2 1 0 1\n3 2 1 0\n\n0 5 2 4\n5 0 3 0\n2 3 0 0\n4 0 0 0\n")
    (folder / "bks.csv").write_text("name,bks\ntiny4,29\n")
    monkeypatch.setenv("MEZAN_QAPLIB", str(folder))
    monkeypatch.chdir(tmp_path)
    assert main(["solve", "tiny4", "--time", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["instance"] == "tiny4" and record["best_known"] == 29
    monkeypatch.delenv("MEZAN_QAPLIB")
    assert main(["solve", "tiny4", "--time", "1"]) == 2
    assert "no QAPLIB instance named 'tiny4'" in capsys.readouterr().err


def test_a_composite_result_prints_a_table_per_subproblem(tmp_path, monkeypatch, capsys):
    request = Path(__file__).resolve().parents[1] / "examples" / "composite" / "request.json"
    monkeypatch.setenv("MEZAN_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["solve", str(request), "--time", "2"]) == 0
    out = capsys.readouterr().out
    names = [sub["id"] for sub in json.loads(request.read_text())["subproblems"]]
    assert all(f"subproblem '{name}'" in out for name in names), out
