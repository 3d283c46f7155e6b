"""The embedded SQLite store: round trips, a writer killed mid-run, concurrent writers."""

import subprocess
import sys
import textwrap
import time

import pytest

from mezan.store import Store, StoredDataError, StoreError

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


def test_round_trip(tmp_path):
    store = Store(tmp_path / "m.db")
    row = store.append_solve(fingerprint="abc", problem_type="qap", solver="qap.rots", features={"n": 12.0},
                             objective=578.0, lower_bound=493.0, best_known=578.0, time_limit=1.0, wall_time=0.9,
                             seed=2**63 + 5, status="optimal", race="r1")
    again = Store(tmp_path / "m.db")  # a second handle reads what the first wrote
    (record,) = again.solves(fingerprint="abc")
    assert record.id == row and record.solver == "qap.rots" and record.features == {"n": 12.0}
    assert (record.objective, record.lower_bound, record.best_known) == (578.0, 493.0, 578.0)
    assert record.seed == str(2**63 + 5) and record.race == "r1" and record.version and record.machine
    assert again.best_objective("abc") == 578.0 and again.best_objective("zzz") is None
    again.set_ratings("global", {"a": (1510.0, 3)})
    again.put_artifact("model", {"weights": [1, 2]})
    third = Store(tmp_path / "m.db")
    assert third.ratings("global") == {"a": (1510.0, 3)} and third.get_artifact("model") == {"weights": [1, 2]}
    assert third.verify() == (1, [])
    third.reset()
    assert third.count_solves() == 0 and third.ratings("global") == {} and third.get_artifact("model") is None


def test_bad_rows_and_files_are_refused(tmp_path):
    store = Store(tmp_path / "m.db")
    with pytest.raises(StoreError, match="needs a fingerprint"):
        store.append_solve(fingerprint="", problem_type="qap", solver="x")
    assert store.count_solves() == 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store(junk)


def test_tampering_is_detected(tmp_path):
    store = Store(tmp_path / "m.db")
    store.append_solve(fingerprint="f", problem_type="qap", solver="s", objective=10.0)
    store._connection().execute("UPDATE solves SET objective = 9 WHERE fingerprint = 'f'")
    assert store.verify() == (1, [1])


def test_a_killed_writer_loses_no_committed_row_and_tears_none(tmp_path):
    path = tmp_path / "m.db"
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


def test_concurrent_writers_keep_every_row(tmp_path):
    path = tmp_path / "m.db"
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


def test_an_altered_row_is_refused_on_read_by_id(tmp_path):
    store = Store(tmp_path / "m.db")
    store.append_solve(fingerprint="f", problem_type="qap", solver="s", objective=10, time_limit=2)  # ints: as floats
    store.append_solve(fingerprint="g", problem_type="qap", solver="s", objective=11.0)
    assert [r.objective for r in store.solves()] == [10.0, 11.0]
    store._connection().execute("UPDATE solves SET objective = 9 WHERE fingerprint = 'g'")
    assert store.verify() == (2, [2])
    assert store.solves(fingerprint="f")[0].objective == 10.0  # the intact row still reads
    with pytest.raises(StoredDataError, match=r"history row 2 fails its checksum"):
        store.solves()


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE ratings SET rating = 'strong'", r"rating of 'a' in scope 'qap:global' is not a finite number"),
    ("UPDATE ratings SET games = -1", r"rating of 'a' .* non-negative count of games"),
])
def test_a_rating_that_is_not_a_number_is_refused(tmp_path, sql, message):
    store = Store(tmp_path / "m.db")
    store.set_ratings("qap:global", {"a": (1510.0, 3)})
    store._connection().execute(sql)
    with pytest.raises(StoredDataError, match=message):
        store.ratings("qap:global")


class _Planted:
    """Unpickling this runs code: it writes a file (what a hostile artifact would do)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_artifacts_are_signed_and_a_foreign_or_altered_one_is_never_unpickled(tmp_path):
    import pickle

    store = Store(tmp_path / "m.db")
    store.put_artifact("model", {"weights": [1, 2]})
    assert store.get_artifact("model", dict) == {"weights": [1, 2]}
    assert (tmp_path / "m.db.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(StoredDataError, match=r"artifact 'model' holds a dict, not a list"):
        store.get_artifact("model", list)
    planted = tmp_path / "ran"
    unsigned = pickle.dumps(_Planted(planted))
    store._connection().execute("INSERT OR REPLACE INTO artifacts VALUES ('raw', 0, ?)", (unsigned,))
    with pytest.raises(StoredDataError, match=r"artifact 'raw' is not a signed MEZAN artifact"):
        store.get_artifact("raw")
    other = Store(tmp_path / "other.db")  # another store: its own key
    other.put_artifact("model", _Planted(planted))
    payload = other._connection().execute("SELECT payload FROM artifacts").fetchone()[0]
    store._connection().execute("UPDATE artifacts SET payload = ? WHERE name = 'model'", (payload,))
    with pytest.raises(StoredDataError, match=r"artifact 'model': its signature does not match this store's key"):
        store.get_artifact("model")
    assert not planted.exists()  # nothing was unpickled
    store.put_artifact("model", {"weights": [3]})
    flipped = bytearray(store._connection().execute("SELECT payload FROM artifacts WHERE name = 'model'")
                        .fetchone()[0])
    flipped[-3] ^= 1
    store._connection().execute("UPDATE artifacts SET payload = ? WHERE name = 'model'", (bytes(flipped),))
    with pytest.raises(StoredDataError, match="signature does not match"):
        store.get_artifact("model")
    assert not planted.exists()


def test_rows_written_by_earlier_versions_read_back_and_kinds_are_checked_by_verify_too(tmp_path):
    from mezan.store import SOLVE_FIELDS, checksum

    store = Store(tmp_path / "m.db")
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


def test_a_signed_artifact_is_bound_to_its_name_and_one_that_cannot_be_unpickled_is_refused(tmp_path):
    from mezan.store import ARTIFACT_MAGIC, _signature

    store = Store(tmp_path / "m.db")
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


def test_a_database_url_is_refused_not_taken_as_a_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=r"store postgresql://\.\.\.: a store is an SQLite file"):
        Store("postgresql://127.0.0.1:1/nope")
    assert list(tmp_path.iterdir()) == []  # no folder 'postgresql:' made
