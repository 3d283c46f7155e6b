"""Fuzzing ``mezan mcp``: one server process per batch of cases, driven over stdio with raw JSON-RPC lines (as
tests/test_mcp.py's ``_raw_server`` does), under the memory cap, its stderr kept in a log.

Cases:

- every tool (solve, solve_instance, analyze, study, instances, metaflow_status, and unknown names) with hostile
  arguments: wire-form problems with hostile values (bench/fuzz.py's generators), composite requests, problems that
  are not objects; time limits and seeds of the wrong type or range ("1", true, -1, 0, 1e300, NaN, Infinity, 2**64,
  1.5, lists); instance names that are paths; study specs that name files outside the root (/etc/shadow,
  /proc/self/environ, ``../``, symlinks made here that point outside, a folder linking out, ``qaplib:`` names that
  are paths or links out of $MEZAN_QAPLIB), files inside it that are garbage holding a secret (echoing it is a
  leak), a named pipe, a link to /dev/zero, a sparse 300 MB file, JSON nested 100k deep, and unbounded specs
  (``generated:taillard_a:8:0-100000000``, ``generated:KIND:100000000:0``);
- malformed JSON-RPC lines (not JSON: a -32700 answer is required; JSON but not JSON-RPC: a JSON-RPC error), odd
  ids, batches, 1 MB lines, notifications that should not be answered;
- cancellations: a long call (a solve, a study, an analysis) cancelled after 0.3-2 s must stop using the CPU, and
  the server must go on answering; cancels of unknown or malformed request ids;
- end of input: each batch ends with the input closed, idle or in the middle of a long call; the server must exit
  within a few seconds (its EXIT_GRACE is 1 s) and leave no process behind.

A call that should end quickly (a refusal, a short budget) but has not answered after its budget + GRACE seconds is
a hang; a long call by design (a valid budget of seconds) is cancelled and must go quiet. Answers are checked for
tracebacks (also in the server's log), a bare "Error executing tool X" (a raw exception in the tool), a secret
planted in the files outside the root and in the server's own environment, bare NaN / Infinity in the JSON, and, for
a solved QAP, a permutation whose objective recomputes.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fuzz
from fuzz_proc import (
    GRACE,
    MEMORY_GROWTH,
    TRACEBACK,
    LineReader,
    limit_memory,
    memory_kb,
    new_stats,
    record,
    reset_peak,
    signature,
)

BATCH = 40
SECRET = "MEZANFUZZSECRET7f3a"
LONG_CALL_CPU = 0.5  # CPU seconds over QUIET_SPAN s after a cancel above which the work still runs
QUIET_WAIT, QUIET_SPAN = 1.5, 1.5  # as tests/test_mcp.py: 1.5 s for the stop to reach the work, then measure
EXIT_LIMIT = 4.0  # seconds from EOF to exit (EXIT_GRACE is 1 s; the rest is margin for a loaded machine)
PROTOCOL = "2025-06-18"

GOOD_TIMES = [0.05, 0.1, 0.05, 0.2, 0.05, 0.1, 0.05, 1e-300, 5e-324, 0.5, 1e300, 30.0, 1e10, math.inf]
"""Budgets the tools must accept; the last four make a long call by design (cancelled, then checked for quiet)."""
BAD_TIMES = ["1", True, False, -1, 0, math.nan, -math.inf, None, [], {}, 2**63, "inf", "nan", "NaN", -1e-300]
GOOD_SEEDS = [None, 0, 7, 2**63 - 1, 3.0]
BAD_SEEDS = ["1", True, -1, 1e300, math.nan, 2**63, 2**64, -(2**63), 1.5, "x", []]


def pick(rng: random.Random, good: list, bad: list, p_good: float = 0.6) -> object:
    return rng.choice(good) if rng.random() < p_good else rng.choice(bad)
NAMES = ["nug12", "had12", "tai12a", "../../etc/passwd", "", "NUG12", "nug12 ", "nug12\u0000", 5, None, ["nug12"],
         "a" * 10_000, "/etc/shadow", "qaplib:nug12", "link_out", "good", "nug12.dat", "evil"]
SOLVERS = [["qap.rots", "qap.anneal"], ["qap.rots", "qap.anneal"], ["rots", "anneal"], ["qap.rots"], [], ["nope"],
           "rots", None, [1, 2], ["qap.rots"] * 50, ["a" * 10_000], ["qap.rots", "qap.rots"]]
STUDY_TIMES = [0.05, 0.05, 0.05, 0.1, "1", True, -1, 0, 1e300, math.nan, None, 1e-300, math.inf, "0.05"]
STUDY_SEEDS = [None, 1, 1, 1, 2, 2, 0, -1, "1", True, 10**9, 1e300, 1.5]
KINDS = ["taillard_a", "taillard_b", "grid_manhattan", "ring_circulant", "lipa"]


# ---- the files the server sees ---------------------------------------------------------------------------------
def make_tree(base: Path) -> dict:
    """The root the server serves, a folder outside it, a $MEZAN_QAPLIB folder and a home: every hostile file the
    specs name. Returns the paths."""
    root, outside, qaplib, home = base / "root", base / "outside", base / "qaplib", base / "home"
    for folder in (root, outside, qaplib, home):
        folder.mkdir(parents=True)
    valid = "3\n\n0 1 2\n1 0 3\n2 3 0\n\n0 5 1\n5 0 2\n1 2 0\n"
    (outside / "secret.dat").write_text(f"{SECRET} 1 2\n3 4 5\n")
    (outside / "x.dat").write_text(valid)
    (root / "good.dat").write_text(valid)
    (root / "good.json").write_text(json.dumps({"type": "qap", "A": [[0, 1], [1, 0]], "B": [[0, 2], [2, 0]]}))
    (root / "bad.dat").write_text(f"{SECRET} 1 2\n")
    (root / "bad.json").write_text(json.dumps({"type": SECRET}))
    (root / "badkey.json").write_text(json.dumps({"type": "qap", SECRET: 1, "A": [[0]], "B": [[0]]}))
    (root / "nul.dat").write_bytes(valid.encode() + b"\x00" + SECRET.encode())
    (root / "nonutf8.dat").write_bytes(b"3\n\xff\xfe" + SECRET.encode())
    (root / "huge_n.dat").write_text("1000000000\n\n0 1\n")
    (root / "neg_n.dat").write_text("-3\n\n0 1\n")
    (root / "deep.json").write_bytes(b"[" * 100_000)
    (root / "link_out.dat").symlink_to(outside / "secret.dat")
    (root / "link_etc.dat").symlink_to("/etc/shadow")
    (root / "loop.dat").symlink_to(root / "loop2.dat")
    (root / "loop2.dat").symlink_to(root / "loop.dat")
    (root / "dirlink").symlink_to(outside)
    (root / "zero.dat").symlink_to("/dev/zero")
    (root / "sub").mkdir()
    (root / "sub" / "ok.dat").write_text(valid)
    os.mkfifo(root / "fifo.dat")
    with open(root / "sparse.dat", "wb") as handle:
        handle.truncate(300 * 2**20)
    (qaplib / "good.dat").write_text(valid)
    (qaplib / "garbage.dat").write_text(f"{SECRET} 1 2\n")
    (qaplib / "evil.dat").symlink_to(outside / "secret.dat")
    (qaplib / "shadow.dat").symlink_to("/etc/shadow")
    markers = [SECRET]
    for name in ("/etc/shadow", "/etc/passwd"):
        try:
            first = Path(name).read_text(errors="replace").splitlines()[0]
            markers.append(first.split(":")[0] + ":" + first.split(":")[1][:3] if ":" in first else first[:12])
        except (OSError, IndexError):
            pass
    return {"base": base, "root": root, "outside": outside, "qaplib": qaplib, "home": home, "markers": markers}


def study_specs(tree: dict) -> list[str]:
    root, outside = tree["root"], tree["outside"]
    return ["/etc/shadow", "/etc/passwd", "/proc/self/environ", "/proc/self/cmdline", "/proc/self/mem",
            str(outside / "secret.dat"), "../outside/secret.dat", "link_out.dat", "link_etc.dat", "loop.dat",
            "dirlink", "dirlink/secret.dat", str(root), ".", "sub", "good.dat", "good.dat", "good.json", "bad.dat",
            "bad.json", "badkey.json", "nul.dat", "fifo.dat", "zero.dat", "sparse.dat", "deep.json", "nonutf8.dat",
            "huge_n.dat", "neg_n.dat", "/dev/zero", "~", "~root/.bashrc", "", "sub/../../outside/secret.dat",
            f"{root}/../outside/secret.dat", "file:///etc/passwd", "\x00", "good.dat\x00.json",
            "generated:taillard_a:8:0-100000000", "generated:taillard_a:100000000:0",
            *(f"generated:{k}:100000000:0" for k in KINDS), "generated:taillard_a:5:0", "generated:lipa:6:0-1",
            "generated:taillard_a:5:0", "generated:nope:5:0", "generated:taillard_a:5:-1",
            "generated:taillard_a:5:0-18446744073709551616", "qaplib:../../etc/passwd", "qaplib:nug12",
            "qaplib:nug12", "qaplib:evil", "qaplib:shadow", "qaplib:garbage", "qaplib:good", "qaplib:/etc/passwd",
            "qaplib:nug12,had12", "qaplib:", "qaplib:" + ",".join(["nug12"] * 20_000)]


# ---- cases -------------------------------------------------------------------------------------------------------
def _seconds(value: object) -> float | None:
    """The budget a value would be if the server accepts it (None: it must refuse it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value > 0 and not math.isnan(value) else None


def _valid_qap(rng: random.Random, n: int) -> dict:
    A = [[0 if i == j else rng.randint(0, 30) for j in range(n)] for i in range(n)]
    B = [[0 if i == j else rng.randint(0, 30) for j in range(n)] for i in range(n)]
    return {"type": "qap", "A": A, "B": B}


def _problem(rng: random.Random) -> object:
    r = rng.random()
    if r < 0.5:
        return fuzz.wire_problem(rng)
    if r < 0.8:
        return _valid_qap(rng, rng.randint(2, 9))
    if r < 0.9:
        return fuzz.composite(rng)
    return rng.choice([None, [], "x", 5, {"type": "qap"}, {}, {"type": ["qap"]}, {"type": "qap", "A": "x"}])


def tool_case(rng: random.Random, tree: dict) -> dict:
    tool = rng.choice(["solve", "solve", "solve", "solve_instance", "analyze", "analyze", "study", "study", "study",
                       "study", "instances", "metaflow_status", "unknown"])
    args: dict = {}
    long = False
    budget = 5.0
    if tool == "solve":
        problem = _problem(rng)
        args["problem"] = problem
        if rng.random() < 0.9:
            args["time_limit"] = pick(rng, GOOD_TIMES, BAD_TIMES)
        if rng.random() < 0.6:
            args["seed"] = pick(rng, GOOD_SEEDS, BAD_SEEDS)
        seconds = _seconds(args.get("time_limit", 10.0))
        if seconds is not None and seconds > 1.0:
            long = True
        budget += min(seconds or 0.0, 1.0)
    elif tool == "solve_instance":
        args["name"] = rng.choice(NAMES)
        if rng.random() < 0.9:
            args["time_limit"] = pick(rng, GOOD_TIMES, BAD_TIMES)
        if rng.random() < 0.5:
            args["seed"] = pick(rng, GOOD_SEEDS, BAD_SEEDS)
        seconds = _seconds(args.get("time_limit", 5.0))
        long = seconds is not None and seconds > 1.0
        budget += min(seconds or 0.0, 1.0)
    elif tool == "analyze":
        args["problem"] = _problem(rng) if rng.random() < 0.6 else _valid_qap(rng, rng.randint(3, 12))
        if rng.random() < 0.8:
            args["time_limit"] = pick(rng, [*GOOD_TIMES, None, None, 0.5, 1.0], BAD_TIMES)
        seconds = _seconds(args.get("time_limit"))
        long = seconds is not None and seconds > 2.0
        budget += 10.0  # DeepThink's first analysis in a process loads its models
    elif tool == "study":
        specs = study_specs(tree)
        args["solvers"] = rng.choice(SOLVERS)
        r = rng.random()
        if r < 0.9:
            args["instances"] = [rng.choice(specs) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        else:
            args["instances"] = rng.choice([None, "good.dat", [], [1], [["good.dat"]], {"a": 1}])
        if rng.random() < 0.9:
            args["time_limit"] = rng.choice(STUDY_TIMES)
        if rng.random() < 0.8:
            args["seeds"] = rng.choice(STUDY_SEEDS)
        seconds = _seconds(args.get("time_limit", 0.5))
        long = seconds is not None and (seconds > 0.2 or args.get("seeds") == 10**9)
        budget += 15.0
    elif tool == "unknown":
        tool = rng.choice(["nope", "", "../solve", "Solve", "solve ", "x" * 10_000])
        args = rng.choice([{}, {"problem": {}}])
    else:
        if rng.random() < 0.3:
            args = rng.choice([{"x": 1}, {"store": "/etc/passwd"}, {"name": None}])
    for key in list(args):  # a missing or an extra argument, now and then
        if rng.random() < 0.04:
            del args[key]
    if rng.random() < 0.04:
        args["extra"] = rng.choice([1, None, "x"])
    params: dict = {"name": tool, "arguments": args}
    if rng.random() < 0.05:
        params["arguments"] = rng.choice([None, [], "x", 5])
    if rng.random() < 0.05:
        params["_meta"] = {"progressToken": rng.choice([1, "p", None, {}, [1], 1.5])}
    literal_nan = rng.random() < 0.5
    return {"kind": "tool", "what": f"tool {tool[:20] if isinstance(tool, str) else tool}", "params": params,
            "long": long, "budget": budget, "literal_nan": literal_nan,
            "cancel_after": rng.uniform(0.3, 2.0)}


MALFORMED = [
    ("not json", "this is not json", -32700),
    ("truncated", '{"jsonrpc": "2.0", "id": 7, "method": "tools/list"', -32700),
    ("bytes", b"\xff\xfe\x00\x01", -32700), ("deep", "[" * 100_000, -32700),
    ("deep_closed", "[" * 5000 + "]" * 5000, 0),
    ("object", "{}", 0), ("array", "[]", 0), ("null", "null", 0), ("number", "5", 0), ("string", '"x"', 0),
    ("version", '{"jsonrpc": "1.0", "id": 5, "method": "ping"}', 0),
    ("id_object", '{"jsonrpc": "2.0", "id": {}, "method": "ping"}', 0),
    ("id_list", '{"jsonrpc": "2.0", "id": [1], "method": "ping"}', 0),
    ("method_number", '{"jsonrpc": "2.0", "id": 5, "method": 5}', 0),
    ("no_method", '{"jsonrpc": "2.0", "id": 5}', 0),
    ("batch", '[{"jsonrpc": "2.0", "id": 5, "method": "ping"}]', 0),
    ("id_nan", '{"jsonrpc": "2.0", "id": NaN, "method": "ping"}', 0),
    ("id_1e400", '{"jsonrpc": "2.0", "id": 1e400, "method": "ping"}', 0),
    ("big", '{"jsonrpc": "2.0", "id": 5, "method": "ping", "params": {"x": "' + "y" * 1_000_000 + '"}}', None),
    ("big_garbage", "z" * 1_000_000, -32700),
    ("unknown_method", '{"jsonrpc": "2.0", "id": 5, "method": "nope/nope"}', 0),
    ("params_list", '{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": [1, 2]}', 0),
    ("params_string", '{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": "x"}', 0),
    ("control", '{"jsonrpc": "2.0", "id": 5, "method": "ping"}\x00', -32700),
    ("bom", '\ufeff{"jsonrpc": "2.0", "id": 5, "method": "ping"}', None),
    ("notification_call", '{"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "instances"}}', None),
    ("unknown_notification", '{"jsonrpc": "2.0", "method": "notifications/nope"}', None),
    ("response", '{"jsonrpc": "2.0", "id": 99999, "result": {}}', None),
    ("error_response", '{"jsonrpc": "2.0", "id": 99999, "error": {"code": 1, "message": "x"}}', None),
    ("utf16", '{"jsonrpc": "2.0", "id": 5, "method": "ping"}'.encode("utf-16"), -32700),
]
"""(name, line, answer): -32700 — a Parse error is required; 0 — some JSON-RPC error is required; None — no
answer is required (a notification, a response, a line that may parse)."""


def rpc_case(rng: random.Random) -> dict:
    name, line, expected = rng.choice(MALFORMED)
    return {"kind": "rpc", "what": f"line {name}", "line": line, "expected": expected, "budget": 5.0}


def cancel_case(rng: random.Random) -> dict:
    """A long call cancelled in its middle (or a cancel that names no call)."""
    variant = rng.choice(["solve", "solve", "study", "analyze", "solve_instance", "unknown_id", "bad_id", "early",
                          "twice"])
    n = rng.choice([40, 60])
    A = [[0 if i == j else rng.randint(0, 50) for j in range(n)] for i in range(n)]
    B = [[0 if i == j else rng.randint(0, 50) for j in range(n)] for i in range(n)]
    if variant == "study":
        params = {"name": "study", "arguments": {"solvers": ["qap.rots", "qap.anneal"],
                                                 "instances": ["generated:taillard_a:30:0-9"], "time_limit": 30.0}}
    elif variant == "analyze":
        m = 150
        params = {"name": "analyze", "arguments": {"problem": {
            "type": "qap", "A": [[(i * j) % 50 for j in range(m)] for i in range(m)],
            "B": [[(i + 2 * j) % 40 for j in range(m)] for i in range(m)]}}}
    elif variant == "solve_instance":
        params = {"name": "solve_instance", "arguments": {"name": "tai12a", "time_limit": 60.0}}
    else:
        params = {"name": "solve", "arguments": {"problem": {"type": "qap", "A": A, "B": B},
                                                 "time_limit": rng.choice([60.0, 1e300, math.inf])}}
    return {"kind": "cancel", "what": f"cancel {variant}", "variant": variant, "params": params,
            "cancel_after": rng.uniform(0.3, 2.0), "budget": 5.0}


def make_case(rng: random.Random, tree: dict, last_in_batch: bool) -> dict:
    if last_in_batch:
        eof = rng.choice(["idle", "mid_call", "mid_call"])
        case = cancel_case(rng) if eof == "mid_call" else {}
        return {**case, "kind": "eof", "what": f"eof {eof}", "eof": eof, "budget": EXIT_LIMIT,
                "cancel_after": rng.uniform(0.3, 2.0)}
    r = rng.random()
    if r < 0.75:
        return tool_case(rng, tree)
    if r < 0.9:
        return rpc_case(rng)
    return cancel_case(rng)


def describe(case: dict) -> str:
    if case["kind"] == "rpc":
        line = case["line"]
        shown = repr(line[:120]) + (f"... ({len(line):,} characters)" if len(line) > 120 else "")
        return f"the line {shown}"
    params = case.get("params")
    text = json.dumps(params, allow_nan=True, default=str) if params is not None else ""
    if len(text) > 600:
        text = text[:600] + f"... ({len(text):,} characters)"
    if case["kind"] == "cancel":
        return f"tools/call {text}, then notifications/cancelled after {case['cancel_after']:.1f} s ({case['variant']})"
    if case["kind"] == "eof":
        if case["eof"] == "idle":
            return "stdin closed while idle"
        return f"tools/call {text}, then stdin closed after {case['cancel_after']:.1f} s"
    return f"tools/call {text}"


# ---- the server ------------------------------------------------------------------------------------------------
def _encode(message: object, literal_nan: bool = True) -> bytes:
    if isinstance(message, bytes):
        return message + b"\n"
    if isinstance(message, str):
        return message.encode("utf-8", "surrogatepass") + b"\n"
    if not literal_nan:
        message = _nan_as_text(message)
    return json.dumps(message, allow_nan=True).encode() + b"\n"


def _nan_as_text(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {k: _nan_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_as_text(v) for v in value]
    return value


def _tree_cpu(pid: int) -> float:
    import psutil

    total = 0.0
    try:
        process = psutil.Process(pid)
        for p in [process, *process.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                continue
    except psutil.NoSuchProcess:
        pass
    return total


def _session_left(sid: int) -> list[int]:
    """Processes still alive in the server's session (what it started and left behind)."""
    import psutil

    left = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p.pid)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return left


class Server:
    """``mezan mcp --root ROOT`` on pipes, initialised by hand."""

    def __init__(self, tree: dict) -> None:
        self.tree = tree
        self.log_path = tree["base"] / f"server-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "wb")
        env = {"FUZZ_SECRET": SECRET, "MEZAN_HOME": str(tree["home"]), "MEZAN_QAPLIB": str(tree["qaplib"]),
               "PATH": "/usr/bin:/bin", "HOME": str(tree["home"])}
        self.proc = subprocess.Popen([sys.executable, "-m", "mezan.cli", "mcp", "--root", str(tree["root"])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=tree["root"], env=env, preexec_fn=limit_memory, start_new_session=True)
        self.reader = LineReader(self.proc.stdout)
        self.next_id = 1000
        self.log_offset = 0
        self.pending: list[dict] = []
        answer = self.request({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}}, 1, 120)
        if answer is None or "result" not in answer:
            raise RuntimeError(f"the MCP server did not initialise: {answer}; log: {self.new_log()[-2000:]}")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: object, literal_nan: bool = True) -> bool:
        try:
            self.proc.stdin.write(_encode(message, literal_nan))
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def messages(self, timeout: float) -> list[tuple[str, object]]:
        """(raw line, parsed) of what arrives within ``timeout``."""
        out = []
        for line in self.reader.lines(timeout):
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            out.append((line, parsed))
        return out

    def wait(self, want: object, timeout: float, null_error: bool = False) -> tuple[str, dict] | None:
        """The answer with id ``want`` (raw line and message), others kept in :attr:`pending`; None on timeout.
        ``null_error``: an error with id null answers too (the line we sent did not parse: it names no id)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (raw, message) in enumerate(self.pending):
                if not isinstance(message, dict):
                    continue
                if (message.get("id") == want and ("result" in message or "error" in message)) or \
                        (null_error and message.get("id") is None and "error" in message):
                    del self.pending[i]
                    return raw, message
            left = deadline - time.monotonic()
            if left <= 0 or (self.reader.eof and not self.reader.buffer):
                return None
            self.pending += self.messages(min(left, 0.5))

    def request(self, message: dict, want: object, timeout: float, literal_nan: bool = True) -> dict | None:
        if not self.send(message, literal_nan):
            return None
        got = self.wait(want, timeout)
        return got[1] if got else None

    def ping(self, timeout: float = GRACE) -> bool:
        self.next_id += 1
        return self.request({"jsonrpc": "2.0", "id": self.next_id, "method": "ping"}, self.next_id, timeout) is not None

    def new_log(self) -> str:
        self.log.flush()
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self.log_offset)
                data = handle.read()
        except OSError:
            return ""
        self.log_offset += len(data)
        return data.decode("utf-8", "replace")

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.close()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.log.close()

    def quiet_after_cancel(self) -> float:
        """CPU seconds the server's process tree uses over QUIET_SPAN s, QUIET_WAIT s from now."""
        time.sleep(QUIET_WAIT)
        before = _tree_cpu(self.proc.pid)
        time.sleep(QUIET_SPAN)
        return _tree_cpu(self.proc.pid) - before


# ---- running a case ------------------------------------------------------------------------------------------
def _leaks(text: str, markers: list[str]) -> str | None:
    for marker in markers:
        if marker and marker in text:
            return marker
    return None


def _check_answer(case: dict, raw: str, message: dict, tree: dict) -> tuple[str, str | None]:
    marker = _leaks(raw, tree["markers"])
    if marker:
        return "leak", f"the answer quotes {marker!r}: {raw[:300]}"
    if TRACEBACK in raw:
        return "traceback", f"a traceback in the answer: {raw[:300]}"
    try:
        json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError as exc:
        return "nonsense", f"bare {exc} in the answer: {raw[:200]}"
    if "error" in message:
        return "refused", f"JSON-RPC error {message['error'].get('code')}: {str(message['error'].get('message'))[:200]}"
    result = message.get("result") or {}
    name = case["params"].get("name")
    if result.get("isError"):
        texts = [c.get("text", "") for c in result.get("content") or [] if isinstance(c, dict)]
        text = " ".join(texts).strip()
        if not text or text == f"Error executing tool {name}" or text.endswith(f"Error executing tool {name}"):
            return "unexpected", f"a bare tool error {text!r} (a raw exception inside the tool)"
        return "refused", text[:300]
    structured = result.get("structuredContent")
    if name == "solve" and isinstance(structured, dict):
        problem = (case["params"].get("arguments") or {}).get("problem")
        wrong = _check_qap(problem, structured)
        if wrong:
            return "nonsense", wrong
    return "ok", None


def _check_qap(problem: object, record: dict) -> str | None:
    """None unless a solved QAP's permutation is not one or its objective does not recompute."""
    if not isinstance(problem, dict) or problem.get("type") != "qap":
        return None
    A, B = problem.get("A"), problem.get("B")
    try:
        n = len(A)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and abs(x) < 1e6
                   for M in (A, B) for row in M for x in row):
            return None
        if any(len(row) != n for M in (A, B) for row in M) or len(B) != n:
            return None
    except TypeError:
        return None
    p = record.get("solution")
    if not isinstance(p, list) or sorted(p) != list(range(n)):
        return f"solution {str(p)[:100]} is not a permutation of 0..{n - 1}"
    recomputed = sum(A[i][j] * B[p[i]][p[j]] for i in range(n) for j in range(n))
    objective = record.get("objective")
    if not isinstance(objective, (int, float)) or abs(objective - recomputed) > 1e-6 * max(1.0, abs(recomputed)):
        return f"objective {objective} != recomputed {recomputed}"
    return None


def run_tool(server: Server, case: dict, tree: dict, grace: float) -> tuple[str, str | None]:
    server.next_id += 1
    rid = server.next_id
    if not server.send({"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": case["params"]},
                       case.get("literal_nan", True)):
        return "crash", "the server closed its input"
    wait = case["cancel_after"] if case["long"] else case["budget"] + grace
    got = server.wait(rid, wait, null_error=True)  # NaN / Infinity literals: a -32700 answer, id null
    if got is not None:
        return _check_answer(case, got[0], got[1], tree)
    if not server.alive():
        return "crash", f"the server died (exit code {server.proc.returncode})"
    if not case["long"]:
        outcome, detail = "hang", f"no answer after {wait:.0f} s (a call that should end within " \
                                  f"{case['budget']:.0f} s)"
    else:
        outcome, detail = "ok", f"a long call by design, cancelled after {wait:.1f} s"
    return cancel_and_check(server, rid, outcome, detail, grace)


def cancel_and_check(server: Server, rid: int, outcome: str, detail: str | None,
                     grace: float) -> tuple[str, str | None]:
    server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": rid,
                                                                                  "reason": "fuzz"}})
    if not server.ping(grace):
        return "lost", "the server does not answer a ping after a cancel"
    cpu = server.quiet_after_cancel()
    late = server.wait(rid, 0.01)  # an answer that came after the cancel is dropped (or an error): both are fine
    if late is not None:
        server.pending.append(late)
    if cpu > LONG_CALL_CPU and outcome in ("ok", "refused"):
        return "hang", f"the work goes on after its request was cancelled ({cpu:.2f} CPU s in {QUIET_SPAN} s)"
    return outcome, detail


def run_rpc(server: Server, case: dict, grace: float) -> tuple[str, str | None]:
    if not server.send(case["line"]):
        return "crash", "the server closed its input"
    server.next_id += 1
    rid = server.next_id
    server.send({"jsonrpc": "2.0", "id": rid, "method": "ping"})
    got = server.wait(rid, case["budget"] + grace)
    if got is None:
        return ("crash", f"the server died (exit code {server.proc.returncode})") if not server.alive() else \
            ("lost", "no answer to a ping sent after the line")
    if case["expected"] is None:
        time.sleep(0.05)
    else:  # the line's own answer comes first; give a straggler a moment
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not any(isinstance(m, dict) and "error" in m for _, m in server.pending):
            server.pending += server.messages(0.2)
    errors = [(raw, m) for raw, m in server.pending if isinstance(m, dict) and "error" in m]
    others = list(server.pending)
    server.pending.clear()
    for raw, _ in others:
        if TRACEBACK in raw:
            return "traceback", raw[:300]
    if case["expected"] is None:
        return "ok", None
    if not errors:
        return "lost", "the line got no JSON-RPC error (dropped)" + (f"; other answers: {others[0][0][:200]}"
                                                                    if others else "")
    code = errors[0][1]["error"].get("code")
    if case["expected"] == -32700 and code != -32700:
        return "unclear", f"a line that is not JSON got error {code}, not -32700 Parse error"
    return "refused", f"JSON-RPC error {code}: {str(errors[0][1]['error'].get('message'))[:150]}"


def run_cancel(server: Server, case: dict, grace: float) -> tuple[str, str | None]:
    variant = case["variant"]
    if variant in ("unknown_id", "bad_id"):
        request_id = 987654 if variant == "unknown_id" else rng_free_bad_id()
        server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": request_id}})
        return ("ok", None) if server.ping(grace) else ("lost", "no answer to a ping after a cancel of no call")
    server.next_id += 1
    rid = server.next_id
    if variant == "early":
        server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": rid}})
    server.send({"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": case["params"]})
    got = server.wait(rid, case["cancel_after"], null_error=True)
    if got is not None:
        server.pending.append(got)  # it answered before the cancel: fine
    outcome, detail = cancel_and_check(server, rid, "ok", None, grace)
    if variant == "twice" and outcome == "ok":
        server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": rid}})
        if not server.ping(grace):
            return "lost", "no answer to a ping after a second cancel"
    server.pending.clear()
    return outcome, detail


def rng_free_bad_id() -> object:
    return {"x": [1, None]}


def run_eof(server: Server, case: dict) -> tuple[str, str | None]:
    if case["eof"] == "mid_call":
        server.next_id += 1
        server.send({"jsonrpc": "2.0", "id": server.next_id, "method": "tools/call", "params": case["params"]})
        server.wait(server.next_id, case["cancel_after"])
    sid = server.proc.pid
    began = time.monotonic()
    try:
        server.proc.stdin.close()
    except OSError:
        pass
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        return "hang", "the server outlived its input by more than 15 s"
    took = time.monotonic() - began
    time.sleep(0.3)
    left = _session_left(sid)
    for pid in left:  # what it left behind is ours to end: it is in the session we created
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if took > EXIT_LIMIT:
        return "hang", f"the server exited {took:.1f} s after its input ended (more than {EXIT_LIMIT:g} s)"
    if left:
        return "hang", f"{len(left)} process(es) of the server still ran after it exited"
    code = server.proc.returncode
    if code not in (0, None):
        return "crash", f"exit code {code} after its input ended"
    return "ok", None


def run_one(server: Server, case: dict, tree: dict, grace: float) -> tuple[str, str | None]:
    if case["kind"] == "tool":
        return run_tool(server, case, tree, grace)
    if case["kind"] == "rpc":
        return run_rpc(server, case, grace)
    if case["kind"] == "cancel":
        return run_cancel(server, case, grace)
    return run_eof(server, case)


def _log_verdict(outcome: str, detail: str | None, log: str) -> tuple[str, str | None, str | None]:
    """A traceback or MemoryError in the server's log since the last case overrides a good outcome."""
    if "MemoryError" in log or "std::bad_alloc" in log:
        return "memory", signature(log), log[-1500:]
    if TRACEBACK in log and outcome in ("ok", "refused", "unexpected"):
        return ("unexpected" if outcome == "unexpected" else "traceback"), \
            (detail + " / " if outcome == "unexpected" and detail else "") + "server log: " + signature(log), \
            log[-1500:]
    return outcome, detail, (log[-1500:] if outcome not in ("ok", "refused") else None)


def run(seed: int, count: int, grace: float = GRACE, batch: int = BATCH) -> dict:
    stats = new_stats("mcp")
    base = Path(tempfile.mkdtemp(prefix="mezan-fuzz-mcp-"))
    tree = make_tree(base)
    index = 0
    try:
        while index < count:
            try:
                server = Server(tree)
            except RuntimeError as exc:
                stats["setup_failure"] = str(exc)[:2000]
                break
            end = min(count, index + batch)
            while index < end:
                rng = random.Random(f"{seed}:mcp:{index}")
                case = make_case(rng, tree, index == end - 1)
                began = time.perf_counter()
                rss_before = reset_peak(server.proc.pid)
                outcome, detail = run_one(server, case, tree, grace)
                seconds = time.perf_counter() - began
                grown = (memory_kb(server.proc.pid)[0] - rss_before) * 1024 if server.alive() else 0.0
                log = server.new_log()
                outcome, detail, stderr = _log_verdict(outcome, detail, log)
                if grown > MEMORY_GROWTH and outcome in ("ok", "refused"):
                    outcome, detail = "memory", f"the server's peak resident memory grew by {grown / 2**20:,.0f} " \
                                                f"MiB during the case (then: {outcome}, {detail})"
                record(stats, {"case": index, "what": case["what"], "desc": describe(case), "outcome": outcome,
                               "detail": detail, "seconds": seconds, "stderr": stderr})
                index += 1
                if stats["cases"] % 250 == 0:
                    print(f"  mcp: {stats['cases']} cases", flush=True)
                if case["kind"] == "eof":
                    break
                if not server.alive() or outcome in ("lost", "crash") or (outcome == "hang" and not server.ping(2)):
                    server.kill()
                    break
            if server.alive():
                server.kill()
            else:
                server.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return stats


def replay(seed: int, index: int, batch: int = BATCH) -> None:
    """Case ``index`` alone on a fresh server (the last of a batch is an end-of-input case), everything shown."""
    base = Path(tempfile.mkdtemp(prefix="mezan-fuzz-mcp-replay-"))
    tree = make_tree(base)
    try:
        case = make_case(random.Random(f"{seed}:mcp:{index}"), tree, index % batch == batch - 1)
        print(json.dumps({"case": index, "what": case["what"], "desc": describe(case)}))
        server = Server(tree)
        began = time.perf_counter()
        outcome, detail = run_one(server, case, tree, GRACE)
        log = server.new_log()
        outcome, detail, _ = _log_verdict(outcome, detail, log)
        print(json.dumps({"outcome": outcome, "detail": detail, "seconds": round(time.perf_counter() - began, 3)}))
        for raw, _ in server.pending:
            print(f"--- other message: {raw[:2000]}")
        print(f"--- server log ---\n{log[-4000:]}")
        if server.alive():
            server.kill()
    finally:
        shutil.rmtree(base, ignore_errors=True)
