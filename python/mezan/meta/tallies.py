"""Running tallies of the history: what MetaFlow's online decisions need, kept up to date as solves are recorded, so
that a decision reads what it needs and a solve's cost does not grow with the history.

Kept in the store, per problem type — derived data, never the record (the history is the record):

- ``tally_instances``: per instance (fingerprint), its cluster under the type's clustering (0 before there is one),
  the best objective recorded for it (the reference a solve is rewarded against when the instance has no best-known
  value) and its features (the latest solve's);
- ``tally_arms``: per cluster (and :data:`WHOLE_TYPE`) and solver, the bandit statistics of :mod:`mezan.meta.policies`
  — plays, sum and sum of squares of the rewards of the solves that count as evidence (not warm-started), each
  rewarded against today's reference of its instance, exactly as :func:`mezan.meta.history.rewarded_history` computes
  them from the whole history;
- ``tally_state``: the last history row folded in, and the clustering (its artifact's time) and history generation
  (:meth:`mezan.store.Store.history_generation`) the tallies were made under.

Cost. Folding a solve in is O(1), except when it improves its instance's best objective: then that instance's earlier
solves rewarded against it are re-rewarded (O(solves of that instance)). Each history row is read and checked once,
when it is folded in; rows another process appended are folded in by the next reader. A new clustering or deleted
rows restart the tallies from the whole history — O(history), once per re-clustering, which MetaFlow does when the
number of instances has doubled (amortised O(1) per solve). Every fold runs in one write transaction with the read
of the rows it folds, so concurrent processes never fold a row twice.

The tallies hold for the default reward parameters (:data:`mezan.meta.reward.DEFAULT_GAP_SCALE`, no time weight); a
MetaFlow configured otherwise computes its statistics from the history (:mod:`mezan.meta.history`).
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from mezan.meta import memory
from mezan.meta.features import sense_of, vector
from mezan.meta.model import Clustering
from mezan.meta.policies import Arm
from mezan.meta.reward import DEFAULT_GAP_SCALE, reference, reward
from mezan.store import SolveRecord, Store, StoredDataError

WHOLE_TYPE = -1
"""The cluster number of the statistics over every instance of a type (the bandit's view before any clustering)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS tally_state (
    problem_type TEXT PRIMARY KEY, through INTEGER NOT NULL, clustering REAL, generation TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tally_instances (
    problem_type TEXT NOT NULL, fingerprint TEXT NOT NULL, cluster INTEGER NOT NULL, best REAL, features TEXT NOT NULL,
    PRIMARY KEY (problem_type, fingerprint));
CREATE TABLE IF NOT EXISTS tally_arms (
    problem_type TEXT NOT NULL, cluster INTEGER NOT NULL, solver TEXT NOT NULL, plays INTEGER NOT NULL,
    total REAL NOT NULL, total_sq REAL NOT NULL, PRIMARY KEY (problem_type, cluster, solver));
"""


def arms(store: Store, kind: str, clustering: Clustering | None, cluster: int | None) -> dict[str, Arm]:
    """Bandit statistics per solver of a type, in one cluster of ``clustering`` or over the whole type (None), with
    the history folded in up to its last row."""
    catch_up(store, kind, clustering)
    rows = store.query("SELECT solver, plays, total, total_sq FROM tally_arms WHERE problem_type = ? AND cluster = ?",
                       (kind, WHOLE_TYPE if cluster is None else int(cluster)))
    out = {}
    for solver, plays, total, total_sq in rows:
        if not isinstance(plays, int) or plays < 0 or not all(isinstance(v, int | float) and math.isfinite(v)
                                                              for v in (total, total_sq)):
            raise StoredDataError(f"{store.path}: MetaFlow's tally of {solver!r} ({kind}) is not a count and two "
                                  f"finite sums: {plays!r}, {total!r}, {total_sq!r}")
        out[solver] = Arm(plays, float(total), float(total_sq))
    return out


def instance_count(store: Store, kind: str, clustering: Clustering | None) -> int:
    """The number of distinct instances of a type in the history."""
    catch_up(store, kind, clustering)
    return int(store.query("SELECT COUNT(*) FROM tally_instances WHERE problem_type = ?", (kind,))[0][0])


def instance_features(store: Store, kind: str, clustering: Clustering | None,
                      fingerprints: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Features of the type's instances (the latest solve's), all of them or those of ``fingerprints``."""
    catch_up(store, kind, clustering)
    query, args = "SELECT fingerprint, features FROM tally_instances WHERE problem_type = ?", [kind]
    if fingerprints is not None:
        query += f" AND fingerprint IN ({', '.join('?' * len(fingerprints))})"
        args += fingerprints
    out = {}
    for key, text in store.query(query, args):
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            value = None
        if not isinstance(value, dict):
            raise StoredDataError(f"{store.path}: MetaFlow's tally of instance {key} holds features that are not a "
                                  f"JSON object")
        out[key] = value
    return out


def catch_up(store: Store, kind: str, clustering: Clustering | None) -> None:
    """Fold the history rows of a type that the tallies have not seen yet into them (all of them when the clustering
    or the history generation changed since), in one write transaction."""
    store.define(SCHEMA)
    store.define(memory.SCHEMA)
    stamp = None if clustering is None else store.artifact_time(f"clustering:{kind}")
    generation = store.history_generation()
    with store.transaction() as db:
        store.lock(db, f"tallies:{kind}")  # one folder at a time (replicas): no row folded twice
        state = db.execute("SELECT through, clustering, generation FROM tally_state WHERE problem_type = ?",
                           (kind,)).fetchone()
        if state is None or state[1] != stamp or state[2] != generation or not isinstance(state[0], int):
            db.execute("DELETE FROM tally_instances WHERE problem_type = ?", (kind,))
            db.execute("DELETE FROM tally_arms WHERE problem_type = ?", (kind,))
            through = 0
        else:
            through = state[0]
        new = store.solves(problem_type=kind, after=through)  # read and checked once, here
        if new:
            _Fold(store, db, kind, clustering, through).rows(new)
            through = new[-1].id
        db.execute("INSERT OR REPLACE INTO tally_state VALUES (?, ?, ?, ?)", (kind, through, stamp, generation))


class _Fold:
    """Folds history rows into the tallies, inside the caller's transaction ``db``."""

    def __init__(self, store: Store, db: sqlite3.Connection, kind: str, clustering: Clustering | None,
                 through: int) -> None:
        self.store, self.db, self.kind, self.clustering = store, db, kind, clustering
        self.sense = sense_of(kind)
        self.warm = {int(r[0]) for r in db.execute("SELECT solve FROM warm_started WHERE solve > ?", (through,))}

    def rows(self, records: list[SolveRecord]) -> None:
        for record in records:
            cluster, best = self._instance(record)
            if record.objective is not None and (best is None or self._better(record.objective, best)):
                if best is not None:
                    self._rereward(record, cluster, best, record.objective)
                best = record.objective
            self.db.execute("UPDATE tally_instances SET best = ?, features = ? WHERE problem_type = ? AND "
                            "fingerprint = ?", (best, json.dumps(record.features, sort_keys=True), self.kind,
                                                record.fingerprint))
            if record.id not in self.warm:
                self._add(cluster, record.solver, self._reward(record, best), +1)

    def _instance(self, record: SolveRecord) -> tuple[int, float | None]:
        """(cluster, best objective so far) of the record's instance, which is added when new."""
        row = self.db.execute("SELECT cluster, best FROM tally_instances WHERE problem_type = ? AND fingerprint = ?",
                              (self.kind, record.fingerprint)).fetchone()
        if row is not None:
            return int(row[0]), None if row[1] is None else float(row[1])
        cluster = 0 if self.clustering is None else int(self.clustering.predict(
            vector(record.features, self.clustering.feature_names)))
        self.db.execute("INSERT INTO tally_instances VALUES (?, ?, ?, NULL, '{}')",
                        (self.kind, record.fingerprint, cluster))
        return cluster, None

    def _better(self, value: float, than: float) -> bool:
        return value < than if self.sense == "min" else value > than

    def _reward(self, record: SolveRecord, best: float | None) -> float:
        ref, _ = reference(record.best_known, best, record.lower_bound if self.sense == "min" else None)
        return reward(record.objective, ref, sense=self.sense, gap_scale=DEFAULT_GAP_SCALE,
                      wall_time=record.wall_time, time_limit=record.time_limit, time_weight=0.0)

    def _rereward(self, record: SolveRecord, cluster: int, old: float, new: float) -> None:
        """The instance's best moved from ``old`` to ``new``: its earlier evidence is rewarded against the new one."""
        earlier = self.store.solves(fingerprint=record.fingerprint, problem_type=self.kind, before=record.id)
        if not earlier:
            return
        ids = [r.id for r in earlier]
        warm = {int(row[0]) for row in self.db.execute(
            f"SELECT solve FROM warm_started WHERE solve IN ({', '.join('?' * len(ids))})", ids)}
        for r in earlier:
            if r.id in warm:
                continue
            before, after = self._reward(r, old), self._reward(r, new)
            if before != after:
                self._add(cluster, r.solver, before, -1)
                self._add(cluster, r.solver, after, +1)

    def _add(self, cluster: int, solver: str, value: float, sign: int) -> None:
        """Add (sign +1) or take back (-1) one reward in the solver's cluster and whole-type statistics."""
        for where in {cluster, WHOLE_TYPE}:
            self.db.execute(
                "INSERT INTO tally_arms VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (problem_type, cluster, solver) "
                "DO UPDATE SET plays = tally_arms.plays + excluded.plays, total = tally_arms.total + excluded.total, "
                "total_sq = tally_arms.total_sq + excluded.total_sq",
                (self.kind, where, solver, sign, sign * value, sign * value * value))


__all__ = ["SCHEMA", "WHOLE_TYPE", "arms", "catch_up", "instance_count", "instance_features"]
