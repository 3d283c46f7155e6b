"""The blackboard: the one place MEZAN's agents read and write, so an analysis or a study can be replayed and audited.

A post is (topic, author agent, kind, content, evidence, time, parent): ``kind`` is one of :data:`KINDS`;
``content`` a JSON object; ``evidence`` the ids it rests on (``run:12``, ``experiment:exp-...``, ``post:7``,
``solve:3``); ``parent`` the post it answers. Posts live in the store's ``agent_posts`` table: every post is one
transaction with an autoincrement id, so agents posting concurrently (threads or processes) lose nothing, and the
order of ids is the order of the record. A post is never changed or deleted; each carries a sha256 of its canonical
content, which :meth:`Blackboard.audit` checks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mezan.errors import InvalidParameterError
from mezan.store import Store, canonical_sha256

KINDS = ("finding", "hypothesis", "critique", "decision", "artifact")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL,
    content TEXT NOT NULL, evidence TEXT NOT NULL, created REAL NOT NULL, parent INTEGER, checksum TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_posts_by_topic ON agent_posts (topic, id);
"""


def _checksum(topic: str, author: str, kind: str, content: str, evidence: str, created: float,
              parent: int | None) -> str:
    return canonical_sha256([topic, author, kind, content, evidence, repr(created), parent])


@dataclass(frozen=True)
class Post:
    id: int
    topic: str
    author: str
    kind: str
    content: dict[str, Any]
    evidence: list[str]
    created: float
    parent: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "author": self.author, "kind": self.kind,
                "content": self.content, "evidence": self.evidence, "created": self.created, "parent": self.parent}


class Blackboard:
    """Posts of the agents in a :class:`mezan.store.Store` (default: the user's store)."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self.store.define(_SCHEMA)

    def post(self, topic: str, author: str, kind: str, content: dict[str, Any], *, evidence: list[str] | None = None,
             parent: int | None = None) -> int:
        """Append a post; returns its id."""
        if kind not in KINDS:
            raise InvalidParameterError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        if not topic or not author:
            raise InvalidParameterError("a post needs a topic and an author")
        body = json.dumps(content, sort_keys=True, default=_plain)
        refs = json.dumps([str(e) for e in evidence or []])
        created = time.time()
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO agent_posts (topic, author, kind, content, evidence, created, parent, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (topic, author, kind, body, refs, created, parent,
                 _checksum(topic, author, kind, body, refs, created, parent)))
            return int(cursor.lastrowid or 0)

    def posts(self, topic: str | None = None, *, author: str | None = None, kind: str | None = None) -> list[Post]:
        """The posts of a topic (all topics: None), in the order they were made."""
        query = "SELECT id, topic, author, kind, content, evidence, created, parent FROM agent_posts"
        args: list[Any] = []
        where: list[str] = []
        for column, value in (("topic", topic), ("author", author), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if where:
            query += " WHERE " + " AND ".join(where)
        rows = self.store.query(query + " ORDER BY id", args)
        return [Post(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7]) for r in rows]

    def topics(self) -> list[tuple[str, int, float]]:
        """(topic, posts, last post time), newest first."""
        rows = self.store.query("SELECT topic, COUNT(*), MAX(created) FROM agent_posts GROUP BY topic "
                                "ORDER BY MAX(created) DESC")
        return [(r[0], int(r[1]), float(r[2])) for r in rows]

    def audit(self, topic: str | None = None) -> list[int]:
        """Ids of the posts whose checksum no longer matches their content (empty: the record is intact)."""
        query = "SELECT id, topic, author, kind, content, evidence, created, parent, checksum FROM agent_posts"
        rows = self.store.query(query + (" WHERE topic = ?" if topic else ""), (topic,) if topic else ())
        return [r[0] for r in rows if _checksum(r[1], r[2], r[3], r[4], r[5], r[6], r[7]) != r[8]]


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples and sets as JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


__all__ = ["KINDS", "Blackboard", "Post"]
