"""The store on both backends, SQLite (a file) and PostgreSQL (a throwaway server, tests/pg_server.py): round trips,
a writer killed mid-run, concurrent writers, tampering, signed artifacts; then what only a file has (its key file,
its folder), the migrations and the URLs."""

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from pg_server import postgres  # noqa: F401 - the fixture (one server per worker)

from mezan.store import Store, StoredDataError, StoreError, StoreUnavailable

BACKENDS = ["sqlite", "postgresql"]

WRITER = textwrap.dedent("""
    import sys
    from mezan.store import Store
    store = Store(sys.argv[1])
    writer, rows = sys.argv[2], int(sys.argv[3])
    for k in range(rows):
        row = store.append_solve(fingerprint=f"{writer}-{k}", problem_type="qap", solver=f"solver-{writer}",
                                 features={"n": float(k), "w": writer}, objective=1000.0 + k, time_limit=1.0,
                                 wall_time=0.5, seed=k, status="timeout")
        print(row, flush=True)
""")


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def place(backend, tmp_path, request):
    """``place(name)``: where the store called ``name`` of this test lives — a file, or a database of its own on
    the worker's PostgreSQL server (the same name, the same store)."""
    made: dict[str, str] = {}

    def where(name: str = "m") -> str:
        if backend == "sqlite":
            return str(tmp_path / f"{name}.db")
        if name not in made:
            made[name] = request.getfixturevalue("postgres").new_database()
        return made[name]
    return where


def alter(store, sql, args=()):
    """Change rows behind the store's back (as someone with the database's password would)."""
    with store.transaction() as db:
        db.execute(sql, args)


def test_round_trip(place):
    store = Store(place())
    row = store.append_solve(fingerprint="abc", problem_type="qap", solver="qap.rots", features={"n": 12.0},
                             objective=578.0, lower_bound=493.0, best_known=578.0, time_limit=1.0, wall_time=0.9,
                             seed=2**63 + 5, status="optimal", race="r1")
    again = Store(place())  # a second handle reads what the first wrote
    (record,) = again.solves(fingerprint="abc")
    assert record.id == row and record.solver == "qap.rots" and record.features == {"n": 12.0}
    assert (record.objective, record.lower_bound, record.best_known) == (578.0, 493.0, 578.0)
    assert record.seed == str(2**63 + 5) and record.race == "r1" and record.version and record.machine
    assert again.best_objective("abc") == 578.0 and again.best_objective("zzz") is None
    again.set_ratings("global", {"a": (1510.0, 3)})
    again.put_artifact("model", {"weights": [1, 2]})
    third = Store(place())
    assert third.ratings("global") == {"a": (1510.0, 3)} and third.get_artifact("model") == {"weights": [1, 2]}
    assert third.verify() == (1, [])
    third.reset()
    assert third.count_solves() == 0 and third.ratings("global") == {} and third.get_artifact("model") is None


def test_bad_rows_and_files_are_refused(place, tmp_path):
    store = Store(place())
    with pytest.raises(StoreError, match="needs a fingerprint"):
        store.append_solve(fingerprint="", problem_type="qap", solver="x")
    assert store.count_solves() == 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store(junk)


def test_tampering_is_detected(place):
    store = Store(place())
    store.append_solve(fingerprint="f", problem_type="qap", solver="s", objective=10.0)
    alter(store, "UPDATE solves SET objective = 9 WHERE fingerprint = 'f'")
    assert store.verify() == (1, [1])


def test_a_killed_writer_loses_no_committed_row_and_tears_none(place):
    path = place()
    Store(path)
    committed = []
    with subprocess.Popen([sys.executable, "-c", WRITER, str(path), "w", "100000"], stdout=subprocess.PIPE,
                          text=True) as proc:
        for line in proc.stdout:  # ids the writer saw committed
            committed.append(int(line))
            if len(committed) >= 300:
                break
        proc.kill()  # SIGKILL, mid-write
        proc.wait()
    store = Store(path)
    checked, bad = store.verify()
    assert bad == [] and checked >= len(committed)
    ids = {r.id for r in store.solves()}
    assert set(committed) <= ids
    for r in store.solves():  # every row complete
        assert r.fingerprint.startswith("w-") and r.features["w"] == "w" and r.objective is not None


def test_concurrent_writers_keep_every_row(place):
    path = place()
    Store(path)
    writers, rows = 4, 150
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), str(rows)],
                              stdout=subprocess.DEVNULL) for w in range(writers)]
    deadline = time.time() + 120
    for p in procs:
        assert p.wait(timeout=max(1, deadline - time.time())) == 0
    store = Store(path)
    assert store.verify() == (writers * rows, [])
    keys = sorted(r.fingerprint for r in store.solves())
    assert keys == sorted(f"{w}-{k}" for w in range(writers) for k in range(rows))


def test_an_in_memory_store_shared_by_threads_takes_turns_with_its_transactions():
    import threading

    store = Store(":memory:")
    store.define("CREATE TABLE IF NOT EXISTS counts (k INTEGER)")
    errors = []

    def work():
        try:
            for i in range(200):
                with store.transaction() as db:
                    db.execute("INSERT INTO counts VALUES (?)", (i,))
                store.define("CREATE TABLE IF NOT EXISTS other (k INTEGER)")  # executescript commits what is pending
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and store.query("SELECT COUNT(*) FROM counts")[0][0] == 800


def test_an_altered_row_is_refused_on_read_by_id(place):
    store = Store(place())
    store.append_solve(fingerprint="f", problem_type="qap", solver="s", objective=10, time_limit=2)  # ints: as floats
    store.append_solve(fingerprint="g", problem_type="qap", solver="s", objective=11.0)
    assert [r.objective for r in store.solves()] == [10.0, 11.0]
    alter(store, "UPDATE solves SET objective = 9 WHERE fingerprint = 'g'")
    assert store.verify() == (2, [2])
    assert store.solves(fingerprint="f")[0].objective == 10.0  # the intact row still reads
    with pytest.raises(StoredDataError, match=r"history row 2 fails its checksum"):
        store.solves()


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE ratings SET rating = 'strong'", r"rating of 'a' in scope 'qap:global' is not a finite number"),
    ("UPDATE ratings SET rating = 'NaN'", r"rating of 'a' in scope 'qap:global' is not a finite number"),
    ("UPDATE ratings SET games = -1", r"rating of 'a' .* non-negative count of games"),
])
def test_a_rating_that_is_not_a_number_is_refused(place, backend, sql, message):
    if backend == "postgresql" and "strong" in sql:
        pytest.skip("a PostgreSQL column holds only its own type: text cannot be stored in a number column")
    store = Store(place())
    store.set_ratings("qap:global", {"a": (1510.0, 3)})
    alter(store, sql)
    with pytest.raises(StoredDataError, match=message):
        store.ratings("qap:global")


class _Planted:
    """Unpickling this runs code: it writes a file (what a hostile artifact would do)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_artifacts_are_signed_and_a_foreign_or_altered_one_is_never_unpickled(place, backend, tmp_path, monkeypatch):
    import pickle

    store = Store(place())
    store.put_artifact("model", {"weights": [1, 2]})
    assert store.get_artifact("model", dict) == {"weights": [1, 2]}
    key = tmp_path / "m.db.key" if backend == "sqlite" else tmp_path / "mezan-home" / "postgresql.key"
    assert key.stat().st_mode & 0o777 == 0o600
    with pytest.raises(StoredDataError, match=r"artifact 'model' holds a dict, not a list"):
        store.get_artifact("model", list)
    planted = tmp_path / "ran"
    unsigned = pickle.dumps(_Planted(planted))
    alter(store, "INSERT OR REPLACE INTO artifacts VALUES ('raw', 0, ?)", (unsigned,))
    with pytest.raises(StoredDataError, match=r"artifact 'raw' is not a signed MEZAN artifact"):
        store.get_artifact("raw")
    other = Store(place("other"))  # another store: its own key
    with monkeypatch.context() as m:
        m.setenv("MEZAN_STORE_KEY_FILE", str(tmp_path / "other.key"))  # a PostgreSQL store's key is named apart
        other.put_artifact("model", _Planted(planted))
    payload = other.query("SELECT payload FROM artifacts")[0][0]
    alter(store, "UPDATE artifacts SET payload = ? WHERE name = 'model'", (payload,))
    with pytest.raises(StoredDataError, match=r"artifact 'model': its signature does not match this store's key"):
        store.get_artifact("model")
    assert not planted.exists()  # nothing was unpickled
    store.put_artifact("model", {"weights": [3]})
    flipped = bytearray(store.query("SELECT payload FROM artifacts WHERE name = 'model'")[0][0])
    flipped[-3] ^= 1
    alter(store, "UPDATE artifacts SET payload = ? WHERE name = 'model'", (bytes(flipped),))
    with pytest.raises(StoredDataError, match="signature does not match"):
        store.get_artifact("model")
    assert not planted.exists()


def test_rows_written_by_earlier_versions_read_back_and_kinds_are_checked_by_verify_too(place):
    from mezan.store import SOLVE_FIELDS, checksum

    store = Store(place())
    store.append_solve(fingerprint="f", problem_type="qap", solver="s", objective=float("nan"), time_limit=1)
    assert store.solves()[0].objective is None  # NaN is no number: stored as none, and the row reads back

    def insert(**values):
        row = {k: values.get(k) for k in SOLVE_FIELDS}
        row.update(created=1.0, version="0", machine="m")
        row["checksum"] = checksum(row)  # summed as the caller spelled the numbers, as earlier versions did
        with store.transaction() as db:
            db.execute(f"INSERT INTO solves ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       tuple(row.values()))

    insert(fingerprint="old", problem_type="qap", solver="s", features="{}", objective=1234.0, time_limit=1,
           wall_time=2)  # a float and two ints among the whole numbers
    assert store.solves(fingerprint="old")[0].time_limit == 1.0 and store.verify() == (2, [])
    insert(fingerprint="odd", problem_type="qap", solver="s", features="[1]")  # a valid checksum, not an object
    assert store.verify() == (3, [3])
    with pytest.raises(StoredDataError, match="history row 3: features must be a JSON object"):
        store.solves()


def test_a_signed_artifact_is_bound_to_its_name_and_one_that_cannot_be_unpickled_is_refused(place):
    from mezan.store import ARTIFACT_MAGIC
    from mezan.store.core import _signature

    store = Store(place())
    store.put_artifact("clustering:tsp", [1, 2])
    with store.transaction() as db:
        db.execute("INSERT INTO artifacts SELECT 'clustering:qap', created, payload FROM artifacts")
    with pytest.raises(StoredDataError, match="artifact 'clustering:qap': its signature does not match"):
        store.get_artifact("clustering:qap")
    data = b"cno_such_module\nThing\n."  # a pickle whose class is gone (moved, or an older MEZAN's)
    payload = ARTIFACT_MAGIC + _signature(store._artifact_key(create=True), "model", data) + data
    with store.transaction() as db:
        db.execute("INSERT INTO artifacts VALUES ('model', 0, ?)", (payload,))
    with pytest.raises(StoredDataError, match=r"artifact 'model' cannot be unpickled \(ModuleNotFoundError"):
        store.get_artifact("model")
    memory = Store(":memory:")
    memory.put_artifact("m", {"a": 1})
    assert memory.get_artifact("m") == {"a": 1}


def test_a_key_readable_by_others_is_refused_by_name_as_ssh_does(tmp_path):
    store = Store(tmp_path / "mezan.db")
    store.put_artifact("clustering:qap", {"k": 1})
    key = tmp_path / "mezan.db.key"
    key.chmod(0o666)
    with pytest.raises(StoredDataError, match=r"permissions 0666.*chmod 600"):
        store.get_artifact("clustering:qap")
    key.chmod(0o600)
    assert store.get_artifact("clustering:qap") == {"k": 1}


def test_a_key_that_is_a_folder_is_refused_and_a_solve_still_runs(tmp_path, monkeypatch):
    import mezan
    from mezan.problems import QAPProblem

    (tmp_path / "mezan.db.key").mkdir()
    store = Store(tmp_path / "mezan.db")
    with pytest.raises(StoredDataError, match="must be a file, found a folder"):
        store.put_artifact("clustering:qap", {"k": 1})
    monkeypatch.setenv("MEZAN_HOME", str(tmp_path))
    result = mezan.solve(QAPProblem([[0, 1], [1, 0]], [[0, 2], [2, 0]]), time_limit=0.2, seed=0)
    assert result.objective == 4


def test_mezan_home_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("MEZAN_HOME", str(home))
    with pytest.raises(StoreError, match=r"home \(MEZAN_HOME\) is a file, not a folder"):
        Store()


def test_another_kind_of_url_is_refused_not_taken_as_a_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=r"store mysql://\.\.\.: a store is an SQLite file .* or a PostgreSQL URL"):
        Store("mysql://127.0.0.1:1/nope")
    assert list(tmp_path.iterdir()) == []  # no folder 'mysql:' made


def test_an_unreachable_server_is_a_clear_error_without_its_password(monkeypatch):
    monkeypatch.setenv("MEZAN_STORE_TIMEOUT", "0.5")
    with pytest.raises(StoreUnavailable, match=r"cannot reach the PostgreSQL store postgresql://u:\*\*\*@127\.0\.0\.1:1/"):
        Store("postgresql://u:hunter2@127.0.0.1:1/nope")


def test_a_database_that_does_not_exist_is_named_in_the_error(postgres, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MEZAN_STORE_TIMEOUT", "1")
    with pytest.raises(StoreUnavailable, match=r'database "no_such_db" does not exist'):
        Store(postgres.url("no_such_db"))


def test_mezan_store_names_the_default_store(postgres, monkeypatch):  # noqa: F811 - the fixture
    url = postgres.new_database()
    monkeypatch.setenv("MEZAN_STORE", url)
    Store().set_ratings("qap:global", {"a": (1500.0, 1)})
    assert Store(url).ratings("qap:global") == {"a": (1500.0, 1)} and Store().dialect == "postgresql"


def test_migrations_are_applied_once_even_when_run_twice_at_once(place, backend):
    from mezan.store.migrations import LATEST, migrate, versions

    store = Store(place())
    assert [v for v, _, _ in versions(store._backend)] == list(range(1, LATEST + 1))
    assert migrate(store._backend) == []  # run again: nothing to do
    fresh, applied, errors = place("fresh"), [], []

    def race():
        try:
            applied.append(Store(fresh))
        except Exception as exc:
            errors.append(exc)
    threads = [threading.Thread(target=race) for _ in range(4)]  # four openers of one new store at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(applied) == 4
    recorded = versions(applied[0]._backend)
    assert [v for v, _, _ in recorded] == list(range(1, LATEST + 1))  # each version once
    alter(applied[0], "INSERT INTO schema_version VALUES (?, 'from the future', 0)", (LATEST + 1,))
    with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, this MEZAN reads up to {LATEST}"):
        Store(fresh)


def test_an_old_store_gains_the_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"  # the jobs table of a MEZAN before leases, with a job in it
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE jobs (id TEXT PRIMARY KEY, route TEXT NOT NULL, solver TEXT NOT NULL, status "
                     "TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL, best REAL, elapsed REAL, "
                     "curve TEXT NOT NULL, result TEXT, error TEXT, owner TEXT); INSERT INTO jobs (id, route, solver, "
                     "status, created, curve) VALUES ('j1', 'qapflow', 'qap', 'done', 1.0, '[]');")
    db.close()
    store = Store(path)
    assert store.query("SELECT id, replica, cancel, attempts FROM jobs") == [("j1", None, 0, 0)]


def test_metaflow_optibench_the_blackboard_and_sweeps_keep_their_state_on_postgresql(postgres, tmp_path):  # noqa: F811
    """The store's other users, their SQL written in SQLite's dialect, on a PostgreSQL store: MetaFlow's history,
    tallies, memory of solutions and trained artifacts; an OptiBench experiment; the agents' blackboard; a sweep's
    log."""
    import numpy as np

    import mezan
    from mezan.agents.blackboard import Blackboard
    from mezan.bench.experiments import Plan, run_experiment
    from mezan.bench.registry import Registry
    from mezan.dist.sweep import SweepLog
    from mezan.meta import MetaFlow
    from mezan.problems import QAPProblem

    url = postgres.new_database()
    flow = MetaFlow(Store(url))
    rng = np.random.default_rng(3)
    problem = QAPProblem(*rng.integers(0, 9, (2, 9, 9)))
    first = mezan.solve(problem, time_limit=0.2, seed=0, metaflow=flow)
    second = mezan.solve(problem, time_limit=0.2, seed=1, metaflow=MetaFlow(Store(url)))  # starts from the first
    store = Store(url)
    assert store.count_solves() == 2 and second.objective <= first.objective
    assert store.verify() == (2, []) and [r.solver for r in store.solves(fingerprint=problem.fingerprint())]
    assert store.query("SELECT COUNT(*) FROM solutions")[0][0] == 1  # MetaFlow's memory of the best solution
    registry = Registry(Store(url))
    experiment = run_experiment(Plan(["qaplib:nug12"], ["rots"], seeds=2, time_limit=30.0, max_iter=100),
                                registry=registry)
    runs = registry.runs(experiment.id)
    assert len(runs) == 2 and all(r["objective"] is not None and r["trace"] for r in runs)
    assert run_experiment(Plan(["qaplib:nug12"], ["rots"], seeds=2, time_limit=30.0, max_iter=100),
                          registry=Registry(Store(url))).id == experiment.id and len(registry.runs(experiment.id)) == 2
    board = Blackboard(Store(url))
    parent = board.post("t", "Analyzer", "finding", {"size": 12})
    board.post("t", "Synthesizer", "decision", {"solver": "qap.rots"}, parent=parent)
    assert [p.kind for p in Blackboard(Store(url)).posts("t")] == ["finding", "decision"] and board.audit() == []
    assert [(topic, count) for topic, count, _ in board.topics()] == [("t", 2)]
    sweep = SweepLog(Store(url), "s1")
    assert sweep.record("a", {"x": 1}) and not sweep.record("a", {"x": 2})  # recorded once
    assert SweepLog(Store(url), "s1").done() == {"a": {"x": 1}}


def test_the_sql_is_translated_to_postgresql_in_one_place(postgres):  # noqa: F811
    """The translation of SQLite's dialect (mezan.store.postgres), on the statements' shapes the callers use."""
    from mezan.store.postgres import ddl, placeholders, shown_url

    assert placeholders("SELECT a FROM t WHERE b = ? AND c LIKE 'x?%' AND d = ?") == \
        "SELECT a FROM t WHERE b = %s AND c LIKE 'x?%%' AND d = %s"  # a literal's ? is no placeholder
    assert ddl("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, x REAL, b BLOB, n INTEGER, s TEXT)") == \
        ('CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, x DOUBLE PRECISION, b BYTEA, '
         'n BIGINT, s TEXT COLLATE "C")')
    assert shown_url("postgresql://u:pw@h:5/d?sslmode=require") == "postgresql://u:***@h:5/d?sslmode=require"
    store = Store(postgres.new_database())
    store.define("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER NOT NULL);"
                 "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT)")
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", ("a", "1", 1))
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", ("a", "2", 2))  # replaced, not duplicated
        assert db.execute("INSERT OR IGNORE INTO kv (k, v, n) VALUES (?, ?, ?)", ("a", "3", 3)).rowcount == 0
        ids = [db.execute("INSERT INTO log (line) VALUES (?)", (f"{k}% done",)).lastrowid for k in range(3)]
    assert store.query("SELECT k, v, n FROM kv") == [("a", "2", 2)] and ids == [1, 2, 3]
    assert store.query("SELECT line FROM log WHERE line LIKE '1%'") == [("1% done",)]
    assert store.query("SELECT k FROM kv WHERE k >= ? AND k < ?", ("a", "b")) == [("a",)]  # bytewise, as SQLite
