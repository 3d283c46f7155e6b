"""Fuzzing OptiBench's specs, stores and output paths: ``mezan bench run|register|export|report|list|analyze`` run
in-process in a long-lived worker whose ``$MEZAN_HOME`` holds a real store (experiments, runs, history, an API key,
the artifact key), checked after every case.

Specs: generated ranges of 10^8 instances, sizes of 10^8 or 2, negative or 2^64 seeds, unknown kinds, ``qaplib:``
names that are paths or 20,000 long, folders of 10,001 files, /etc, /proc, /dev/zero, the hostile files of
:mod:`fuzz_cli`. Solvers, budgets, seeds and names: empty, unknown, repeated, 10,000 characters, NaN, inf, 1e300, -1,
10^9 seeds, formulas. Output paths (``--out``, ``--latex``): the store itself (by name, ``./``, ``//``, a relative
path, a symbolic link, a hard link), its -wal, -shm, -journal and .key files, the store's folder, another SQLite
database, an existing file without --force, a folder, a missing parent folder, /dev/full, /dev/null, a path with a
NUL byte or 300 characters, a named pipe; stores (``--store``, ``$MEZAN_HOME``): a text file, a folder, a corrupt
database, a missing folder, an unreachable PostgreSQL URL.

After every case the store must still open, keep every row it had (experiments, runs, instances, history, API keys)
and its key file; an existing file may change only with --force, another SQLite database never; a CSV export never
starts a text cell with a spreadsheet formula; errors are one line. A damaged store is counted (silent nonsense) and
restored from a backup so that later cases test something.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import shutil
import sqlite3
from pathlib import Path

from fuzz_cli import command_line, hostile_file
from fuzz_proc import classify

TABLES = ("bench_experiments", "bench_runs", "bench_instances", "bench_files", "solves", "api_keys")
SQLITE_HEADER = b"SQLite format 3\x00"
FORMULA = ("=", "+", "-", "@", "\t", "\r")

SPECS = ["generated:taillard_a:5:0", "generated:taillard_a,lipa:5,6:0-1", "qaplib:nug12", "qaplib:had12,nug12",
         "generated:taillard_a:8:0-100000000", "generated:taillard_a:100000000:0", "generated:lipa:5:-1",
         "generated:nope:5:0", "generated:taillard_a:2:0", "generated:taillard_a:1e3:0", "generated:taillard_a:5:0-",
         "generated:taillard_a:5:5-0", "generated:taillard_a:5:0,0,0", "generated:", "generated:::",
         "generated:taillard_a:5:99999999999999999999", "generated:taillard_a:5:0-18446744073709551616",
         "generated:taillard_a:-5:0", "qaplib:../../etc/passwd", "qaplib:",
         "qaplib:nope", "qaplib:nug12,", "qaplib:a/b", "qaplib:nug12,nug12", "/etc", "/proc/self", "/dev/zero",
         "/etc/passwd", "", "nope:", "~/x", "generated:taillard_a:0x10:0", "generated:TAILLARD_A:5:0",
         "generated:taillard_a:5:0:extra", "qaplib:" + ",".join(["nug12"] * 20_000)]
GOOD_SOLVERS = ["qap.rots,qap.anneal", "qap.rots", "rots,anneal", "qap.faq,qap.bnb"]
BAD_SOLVERS = ["", ",", "nope", "qap.rots,qap.rots", "qap.rots," * 500, "a" * 10_000, "workflow.cp", "qap.rots:x",
               "QAP.ROTS"]
GOOD_TIMES = ["0.02", "0.05", "0.02", "1e-300"]
BAD_TIMES = ["0", "-1", "nan", "inf", "1e300", "x", "true", "1e10"]
GOOD_SEEDS = ["1", "2", "0"]
BAD_SEEDS = ["-1", "1000000000", "x", "99999999999999999999"]


def pick(rng: random.Random, good: list, bad: list, p_good: float = 0.7) -> str:
    return rng.choice(good) if rng.random() < p_good else rng.choice(bad)
NAMES = [None, None, None, "base", "", "a" * 5000, '=HYPERLINK("http://x")', "../x", "x\ny", "fuzz"]
REFS = ["base", "base", "formula", "nope", "", "exp-000000000000", "'; DROP TABLE bench_runs; --", "%", "_", "*",
        "base\x00", "a" * 5000]
FORMATS = ["csv", "csv", "parquet", "aslib", "xml", "", "CSV"]


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES if t in names}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Context:
    def __init__(self, folder: Path, cli) -> None:
        from mezan.service.keys import KeyStore
        from mezan.store import Store

        self.folder, self.cli = folder, cli
        self.home = Path(os.environ["MEZAN_HOME"])
        self.store = self.home / "mezan.db"
        formula = folder / "formula"
        formula.mkdir(parents=True)
        for k, name in enumerate(["=1+2", "@SUM(A1)", "+cmd", "-2+3", "\tx"]):
            (formula / f"{name}.dat").write_text(f"3\n\n0 1 {k + 2}\n1 0 3\n{k + 2} 3 0\n\n0 5 1\n5 0 2\n1 2 0\n")
        for argv in (["bench", "run", "--instances", "generated:taillard_a:5:0-1", "--solvers", "qap.rots,qap.anneal",
                      "--time", "0.02", "--name", "base", "--json"],
                     ["bench", "run", "--instances", str(formula), "--solvers", "qap.rots", "--time", "0.02",
                      "--name", "formula", "--json"],
                     ["solve", "nug12", "--time", "0.05", "--json"]):
            cli.main(argv)
        KeyStore(Store(self.store)).create("admin", "fuzz")
        self.key = Path(f"{self.store}.key")
        self.key_digest = _digest(self.key)
        self.backup = folder / "backup.db"
        with sqlite3.connect(self.store) as source, sqlite3.connect(self.backup) as target:
            source.backup(target)
        self.baseline = _counts(self.store)
        self.existing = folder / "existing.csv"
        self.existing_text = b"keep me: an existing file\n"
        self.existing.write_bytes(self.existing_text)
        self.other_db = folder / "other.db"
        with sqlite3.connect(self.other_db) as db:
            db.execute("CREATE TABLE IF NOT EXISTS t (x)")
            db.execute("INSERT INTO t VALUES (1)")
        self.other_digest = _digest(self.other_db)
        self.corrupt = folder / "corrupt.db"
        self.corrupt.write_bytes(SQLITE_HEADER + os.urandom(5000))
        self.many = folder / "many"
        self.many.mkdir()
        for k in range(10_001):
            (self.many / f"{k}.dat").touch()
        self.garbage = folder / "garbage"
        self.garbage.mkdir()
        (self.garbage / "a.dat").write_bytes(b"3\n\n0 1 2\x00junk")
        (self.garbage / "b.json").write_bytes(b"[" * 100_000)

    def restore(self) -> None:
        """Put the store back as it was after the setup (after a case damaged it)."""
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{self.store}{suffix}").unlink(missing_ok=True)
        if self.store.is_dir():
            shutil.rmtree(self.store)
        shutil.copyfile(self.backup, self.store)
        self.baseline = _counts(self.store)


REGISTER_ONLY = ["generated:taillard_a:5:0-9999", "generated:taillard_a:2000:0"]
"""Specs that name legitimately long work for a run (10,000 instances; n = 2,000): registered only."""


def _spec(rng: random.Random, ctx: Context, case_dir: Path, register: bool = False) -> tuple[str, str]:
    r = rng.random()
    if register and r < 0.015:
        spec = rng.choice(REGISTER_ONLY)
        return spec, spec
    if r < 0.6:
        spec = rng.choice(SPECS)
        return spec, (spec[:60] + f"... ({len(spec):,} characters)") if len(spec) > 80 else spec
    if r < 0.75:
        path, desc, _ = hostile_file(rng, case_dir / f"f{rng.randrange(1000)}")
        return path, desc
    choice = rng.choice(["many", "garbage", "folder_valid", "formula"])
    if choice == "many":
        return str(ctx.many), "a folder of 10,001 empty .dat files"
    if choice == "garbage":
        return str(ctx.garbage), "a folder holding a .dat with a NUL and a .json nested 100,000 deep"
    if choice == "formula":
        return str(ctx.folder / "formula"), "a folder of valid files named like spreadsheet formulas"
    folder = case_dir / "valid"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v.dat").write_text("3\n\n0 1 2\n1 0 3\n2 3 0\n\n0 5 1\n5 0 2\n1 2 0\n")
    return str(folder), "a folder holding one valid n=3 .dat"


def _out_path(rng: random.Random, ctx: Context, case_dir: Path, suffix: str) -> tuple[str, str]:
    case_dir.mkdir(parents=True, exist_ok=True)
    store = ctx.store
    choice = rng.choice(["new", "new", "store", "store", "wal", "shm", "key", "journal", "dot", "slashes", "relative",
                         "symlink", "hardlink", "home", "existing", "existing", "other_db", "folder", "missing_parent",
                         "dev_full", "dev_null", "nul", "empty", "long", "proc", "root", "fifo", "store_dir_file"])
    if choice == "new":
        return str(case_dir / f"out{suffix}"), "a new file"
    if choice == "store":
        return str(store), "the store file"
    if choice in ("wal", "shm", "key", "journal"):
        name = {"wal": "-wal", "shm": "-shm", "key": ".key", "journal": "-journal"}[choice]
        return f"{store}{name}", f"the store's {name} file"
    if choice == "dot":
        return f"{store.parent}/./{store.name}", "the store as HOME/./mezan.db"
    if choice == "slashes":
        return f"{store.parent}//{store.name}", "the store as HOME//mezan.db"
    if choice == "relative":
        return os.path.relpath(store), "the store by a relative path"
    if choice == "symlink":
        link = case_dir / f"link{suffix}"
        link.symlink_to(store)
        return str(link), "a symbolic link to the store"
    if choice == "hardlink":
        link = case_dir / f"hard{suffix}"
        os.link(store, link)
        return str(link), "a hard link to the store"
    if choice == "home":
        return str(ctx.home), "the store's folder"
    if choice == "store_dir_file":
        return str(ctx.home / f"report{suffix}"), "a new file in the store's folder"
    if choice == "existing":
        return str(ctx.existing), "an existing file"
    if choice == "other_db":
        return str(ctx.other_db), "another SQLite database"
    if choice == "folder":
        return str(case_dir), "a folder"
    if choice == "missing_parent":
        return str(case_dir / "no" / "such" / f"x{suffix}"), "a missing parent folder"
    if choice == "dev_full":
        return "/dev/full", "/dev/full"
    if choice == "dev_null":
        return "/dev/null", "/dev/null"
    if choice == "nul":
        return f"{case_dir}/x\x00{suffix}", "a path with a NUL byte"
    if choice == "empty":
        return "", "an empty path"
    if choice == "long":
        return str(case_dir / ("n" * 300 + suffix)), "a name of 300 characters"
    if choice == "proc":
        return "/proc/self/x", "a file under /proc"
    if choice == "root":
        return "/", "the root folder"
    fifo = case_dir / f"pipe{suffix}"
    os.mkfifo(fifo)
    return str(fifo), "a named pipe (nobody reads it)"


def _store_option(rng: random.Random, ctx: Context, case_dir: Path) -> tuple[list[str], str]:
    if rng.random() < 0.8:
        return [], ""
    case_dir.mkdir(parents=True, exist_ok=True)
    choice = rng.choice(["new", "text", "folder", "corrupt", "missing", "postgres", "memory", "other_db", "etc"])
    value = {"new": str(case_dir / "new.db"), "text": str(ctx.existing), "folder": str(case_dir),
             "corrupt": str(ctx.corrupt), "missing": str(case_dir / "no" / "x.db"),
             "postgres": "postgresql://127.0.0.1:1/nope", "memory": ":memory:", "other_db": str(ctx.other_db),
             "etc": "/etc/passwd"}[choice]
    return ["--store", value], f"--store {choice}"


def make_case(rng: random.Random, ctx: Context, index: int) -> dict:
    case_dir = ctx.folder / f"c{index}"
    command = rng.choice(["run", "run", "run", "register", "register", "export", "export", "export", "report",
                          "report", "list", "analyze", "env"])
    notes: list[str] = []
    env = None
    json_out = False
    budget = 20.0
    if command in ("run", "env"):
        specs = [_spec(rng, ctx, case_dir) for _ in range(rng.choice([1, 1, 2]))]
        argv = ["bench", "run"]
        for spec, note in specs:
            argv += ["--instances", spec]
            notes.append(f"spec {note}")
        time_text = pick(rng, GOOD_TIMES, BAD_TIMES)
        argv += ["--solvers", pick(rng, GOOD_SOLVERS, BAD_SOLVERS), "--time", time_text, "--json"]
        json_out = True
        try:
            seconds = float(time_text)
        except ValueError:
            seconds = 0.0
        if not seconds < 1 or rng.random() < 0.2:  # a long budget gets an iteration cap: each cell stays short
            argv += ["--max-iter", rng.choice(["50", "50", "0", "-1", "1e3", "x"])]
        if rng.random() < 0.4:
            argv += ["--seeds", pick(rng, GOOD_SEEDS, BAD_SEEDS, 0.6)]
        if rng.random() < 0.2:
            argv += ["--seed", pick(rng, GOOD_SEEDS, BAD_SEEDS, 0.6)]
        name = rng.choice(NAMES)
        if name is not None:
            argv += ["--name", name]
        budget = 60.0
        if command == "env":
            value = rng.choice([str(ctx.existing), str(case_dir / "missing" / "home"), "/proc", "", "relative/home",
                                str(ctx.corrupt), "/dev/null"])
            env = {"MEZAN_HOME": value}
            notes.append(f"MEZAN_HOME={value!r}")
            if rng.random() < 0.5:
                argv = ["bench", "list", "--json"]
            command = "run" if argv[1] == "run" else "list"
        else:
            option, note = _store_option(rng, ctx, case_dir)
            argv += option
            if note:
                notes.append(note)
    elif command == "register":
        argv = ["bench", "register"]
        for _ in range(rng.choice([1, 1, 2, 3])):
            spec, note = _spec(rng, ctx, case_dir, register=True)
            argv.append(spec)
            notes.append(f"spec {note}")
        if rng.random() < 0.3:
            argv.append("--replace")
        if rng.random() < 0.7:
            argv.append("--json")
            json_out = True
        option, note = _store_option(rng, ctx, case_dir)
        argv += option
        notes += [note] if note else []
    elif command == "export":
        fmt = rng.choice(FORMATS)
        out, note = _out_path(rng, ctx, case_dir, {"csv": ".csv", "parquet": ".parquet"}.get(fmt, ""))
        argv = ["bench", "export", rng.choice(REFS), "--format", fmt, "--out", out]
        notes.append(f"--out {note}")
        if rng.random() < 0.3:
            argv.append("--force")
    elif command == "report":
        out, note = _out_path(rng, ctx, case_dir, ".html")
        argv = ["bench", "report", rng.choice(REFS), "--out", out]
        notes.append(f"--out {note}")
        if rng.random() < 0.3:
            latex, note = _out_path(rng, ctx, case_dir, ".tex")
            argv += ["--latex", latex]
            notes.append(f"--latex {note}")
        if rng.random() < 0.3:
            argv.append("--force")
        if rng.random() < 0.2:
            argv += rng.choice([["--alpha", rng.choice(["nan", "2", "-1", "0"])],
                                ["--target-gap", rng.choice(["nan", "-1", "inf"])]])
    elif command == "list":
        argv = ["bench", "list", "--json"]
        json_out = True
        option, note = _store_option(rng, ctx, case_dir)
        argv += option
        notes += [note] if note else []
    else:
        argv = ["bench", "analyze", rng.choice(REFS), "--json"]
        json_out = True
        if rng.random() < 0.4:
            argv += rng.choice([["--alpha", rng.choice(["nan", "2", "-1", "0", "0.05"])],
                                ["--target-gap", rng.choice(["nan", "-1", "inf", "0.01"])]])
        option, note = _store_option(rng, ctx, case_dir)
        argv += option
        notes += [note] if note else []
    if "--force" in argv and any(a.endswith(("pipe.csv", "pipe.parquet", "pipe.html", "pipe.tex", "pipe"))
                                 for a in argv):
        argv.remove("--force")  # forced, a named pipe is written in place and blocks until a reader comes: by design
    return {"what": f"bench {command}", "argv": argv, "env": env, "dir": str(case_dir), "json": json_out,
            "desc": f"{command_line(argv)}  [{'; '.join(notes)}]", "budget": budget}


def check_store(ctx: Context) -> str | None:
    """None if the store is intact (opens, keeps its rows, its key unchanged), else what happened to it."""
    try:
        with open(ctx.store, "rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        return f"the store {ctx.store} cannot be read any more: {exc}"
    if header != SQLITE_HEADER:
        return f"the store {ctx.store} was overwritten (it starts {header!r})"
    try:
        counts = _counts(ctx.store)
    except sqlite3.Error as exc:
        return f"the store {ctx.store} no longer opens: {exc}"
    lost = {t: (ctx.baseline[t], counts.get(t, 0)) for t in ctx.baseline if counts.get(t, 0) < ctx.baseline[t]}
    if lost:
        return "the store lost rows: " + ", ".join(f"{t} {a} -> {b}" for t, (a, b) in lost.items())
    if ctx.key_digest is not None and _digest(ctx.key) != ctx.key_digest:
        return f"the store's key file {ctx.key} changed"
    ctx.baseline = counts
    return None


def check_csv(argv: list[str]) -> str | None:
    """None unless a CSV export holds a text cell that a spreadsheet would run as a formula."""
    if "--format" not in argv or argv[argv.index("--format") + 1] != "csv":
        return None
    out = Path(argv[argv.index("--out") + 1])
    try:
        text = out.read_text(errors="replace") if out.is_file() else ""
    except OSError:
        return None
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell.startswith(FORMULA):
                try:
                    float(cell)
                except ValueError:
                    return f"the CSV export holds the formula cell {cell[:60]!r}"
    return None


def run_case(case: dict, ctx: Context, cli) -> tuple[str, str | None, str | None]:
    c = cli.main(case["argv"], env=case["env"])
    outcome, detail = classify(c, json_out=case["json"])
    problems = []
    damage = check_store(ctx)
    if damage:
        problems.append(damage)
        ctx.restore()
    forced = "--force" in case["argv"]
    if ctx.existing.read_bytes() != ctx.existing_text:
        if not forced:
            problems.append(f"the existing file {ctx.existing} was overwritten without --force")
        ctx.existing.write_bytes(ctx.existing_text)
    if _digest(ctx.other_db) != ctx.other_digest:
        if "--store" not in case["argv"]:  # named as a store, a database is opened as one: that is no overwrite
            problems.append(f"another SQLite database {ctx.other_db} was overwritten" + (" (with --force)" if forced
                                                                                          else ""))
        ctx.other_db.unlink(missing_ok=True)
        with sqlite3.connect(ctx.other_db) as db:
            db.execute("CREATE TABLE IF NOT EXISTS t (x)")
            db.execute("INSERT INTO t VALUES (1)")
        ctx.other_digest = _digest(ctx.other_db)
    stray = [p for p in Path.cwd().iterdir() if p.name.startswith("postgresql")]
    if stray:
        problems.append(f"the PostgreSQL URL was taken as a file path: {stray[0]} was created")
        for p in stray:
            shutil.rmtree(p, ignore_errors=True)
    if outcome == "ok" and case["argv"][1] == "export":
        formula = check_csv(case["argv"])
        if formula:
            problems.append(formula)
    if problems:
        return "nonsense", "; ".join(problems) + f" (the command: exit code {c.rc}, {detail or 'ok'})", c.err
    return outcome, detail, c.err


def cleanup(case: dict, _ctx: Context) -> None:
    shutil.rmtree(case["dir"], ignore_errors=True)
