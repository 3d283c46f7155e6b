"""The documentation tells the truth: the site builds without a warning, every Python block of the README and of
the docs' pages runs as written, every ``mezan`` command line they show names real commands and options, and the
examples in the public docstrings give what they say (doctest)."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from mezan.cli import build_app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGES = [p for p in PAGES if "_build" not in p.parts]
sys.path.insert(0, str(ROOT / "docs"))
import public_api  # noqa: E402


def blocks(page: Path, language: str) -> list[str]:
    """The code of every fenced block of ``language`` on a page, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", page.read_text(), re.M | re.S)


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.slow
def test_the_site_builds_without_a_warning(tmp_path):
    sphinx = shutil.which("sphinx-build", path=str(Path(sys.executable).parent))
    assert sphinx, "sphinx-build is in the [docs] extra"
    done = subprocess.run([sphinx, "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "index.html").is_file() and (tmp_path / "api" / "index.html").is_file()
    assert (tmp_path / "api" / "generated" / "mezan.qap.solve.html").is_file()


def test_every_page_is_in_the_site():
    index = (ROOT / "docs" / "index.md").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        if "_build" in page.parts or page.name == "index.md":
            continue
        assert page.relative_to(ROOT / "docs").with_suffix("").as_posix() in index, f"{page} is in no toctree"


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p, "python")], ids=page_id)
def test_the_python_blocks_of_a_page_run_as_written(page, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEZAN_HOME", str(tmp_path / "home"))
    namespace: dict = {"__name__": "docs_example"}
    for number, code in enumerate(blocks(page, "python"), 1):
        exec(compile(code, f"{page_id(page)} (python block {number})", "exec"), namespace)


COMMAND = typer.main.get_command(build_app())


def command_lines() -> list[tuple[str, str]]:
    """(page, line) of every ``mezan ...`` command in the bash blocks of the pages."""
    found = []
    for page in PAGES:
        for code in blocks(page, "bash"):
            for line in code.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                for part in re.split(r"\s+\|\s+(?=mezan )", line):  # "mezan a | mezan b": two commands
                    if part.startswith("mezan "):
                        found.append((page_id(page), part))
    return found


def test_the_pages_show_commands():
    assert len(command_lines()) > 40


@pytest.mark.parametrize(("page", "line"), command_lines(), ids=[f"{p}: {line[:60]}" for p, line in command_lines()])
def test_a_command_line_names_real_commands_and_options(page, line):
    words = line.split()[1:]
    commands = [COMMAND]
    while words and hasattr(commands[0], "list_commands"):  # a group (typer's own click; the root loads lazily)
        names = words[0].strip("[]").split("|")
        if not all(name in commands[0].list_commands(None) for name in names):
            break
        commands = [commands[0].get_command(None, name) for name in names]
        words = words[1:]
    assert all(not hasattr(c, "list_commands") or words[:1] in ([], ["..."], ["--help"], ["--version"],
                                                                 ["--install-completion"])
               for c in commands), f"{page}: {line!r}: {words[:1]} is not a command of the group"
    flags = {w.strip("[]").split("=")[0] for w in words if w.strip("[").startswith("--")}
    for command in commands:
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        known |= {"--help", "-h", "--version", "--install-completion", "--show-completion"}
        unknown = sorted(flags - known)
        assert not unknown, f"{page}: {line!r}: mezan {command.name} has no option {', '.join(unknown)}"


def docstring_examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=False)
    tests = []
    for _, _, obj in public_api.documented():
        tests += [t for t in finder.find(obj) if t.examples]
    return tests


@pytest.mark.parametrize("test", docstring_examples(), ids=lambda t: t.name)
def test_a_docstring_example_gives_what_it_says(test, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEZAN_HOME", str(tmp_path / "home"))
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)
