"""The child processes of ``bench/fuzz.py``: the memory cap, a long-lived worker that runs many cases in one process
(``mezan.cli.main(argv)`` called in-process, its stdout and stderr captured per case at the file-descriptor level),
the parent side that restarts a worker after it crashes or hangs, and the outcome vocabulary every part reports.

Outcomes: ``ok`` (a valid result) and ``refused`` (a one-line error, non-zero exit) are good; every other outcome is a
failure the report counts:

- ``crash``: the process died (a signal other than our own kill, or an exit in the middle of a case);
- ``traceback``: "Traceback (most recent call last)" on stderr, or a raw exception escaping the entry point;
- ``hang``: no answer within the case's budget + GRACE seconds (or work that goes on after a cancel / EOF);
- ``memory``: MemoryError, std::bad_alloc, or a SIGKILL we did not send, under the RLIMIT_AS cap;
- ``nonsense``: a result that is not one (NaN in JSON output, m-hat out of range, a store that lost rows, a
  permutation that is not one, an objective that does not recompute, an existing file overwritten without --force);
- ``unclear``: a refusal that is not one line (or says nothing) — e.g. warnings printed around the error;
- ``unexpected``: a raw exception turned into a generic message (an MCP tool's bare "Error executing tool X");
- ``leak``: the content of a file the caller may not read quoted back in an answer;
- ``lost``: a server that stopped answering (or that dropped a line without a JSON-RPC error).
"""

from __future__ import annotations

import json
import math
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

MEMORY_CAP = 3 * 2**30  # bytes of address space per child process
MEMORY_GROWTH = 512 * 2**20
"""A case whose peak resident memory grows by more than this is unbounded memory even if it ends in a refusal: under
the cap an allocation that fails may be turned into an error message (e.g. a reader that buffers a 10 GB file), which
without the cap is the OOM killer. Every input here is small (files under 50 MB, scenarios under 20,000 rows)."""
GRACE = 10.0  # seconds beyond a case's budget before it counts as a hang
CAPTURE_BYTES = 64 << 20  # the most of a case's stdout / stderr read back (more: not checked as JSON)

GOOD = ("ok", "refused")
BAD = ("crash", "traceback", "hang", "memory", "nonsense", "unclear", "unexpected", "leak", "lost")
TRACEBACK = "Traceback (most recent call last)"
MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


def memory_kb(pid: int | str = "self") -> tuple[float, float]:
    """(peak, current) resident memory of a process in KiB (VmHWM, VmRSS); (0, 0) when unknown."""
    import re

    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return (float(re.search(r"VmHWM:\s+(\d+)", status).group(1)),
                float(re.search(r"VmRSS:\s+(\d+)", status).group(1)))
    except (OSError, AttributeError, ValueError):
        return 0.0, 0.0


def reset_peak(pid: int | str = "self") -> float:
    """Reset the process' peak resident memory to its current one (/proc/PID/clear_refs, 5); returns the current
    resident memory in KiB: a case's peak growth is then ``memory_kb(pid)[0] - reset_peak(pid)``."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass
    return memory_kb(pid)[1]


def limit_memory(cap: int = MEMORY_CAP) -> None:
    """preexec_fn of every child: cap its address space (allocation beyond it fails: MemoryError, bad_alloc)."""
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def strict_json(text: str) -> object:
    """Parse JSON, refusing the NaN / Infinity literals that Python writes and JSON does not have."""
    def refuse(literal: str) -> object:
        raise ValueError(f"bare {literal} in JSON output")
    return json.loads(text, parse_constant=refuse)


def has_nonfinite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(has_nonfinite(v) for v in value)
    return False


def shorten(text: object, limit: int = 700) -> object:
    """A description fit for a report: runs of one character (or of one short token) longer than 20 written as
    ``'x' * N``, and at most ``limit`` characters."""
    import re

    if not isinstance(text, str):
        return text
    text = re.sub(r"(.)\1{19,}", lambda m: f"{m.group(1)!r}*{len(m.group(0)):,}", text, flags=re.DOTALL)
    text = re.sub(r"((.{2,12}?))\2{9,}", lambda m: f"{m.group(2)!r}*{len(m.group(0)) // len(m.group(2)):,}", text,
                  flags=re.DOTALL)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


def signature(text: str) -> str:
    """A short key grouping failures by defect: the last line of a traceback or message, numbers and paths masked."""
    import re

    text = text.split(" (the command: exit code")[0]  # what happened to the store, not what the command said
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    last = re.sub(r"/[^\s'\":,)]+", "PATH", last)
    last = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "N", last)
    return last[:160]


# ---- the worker side: many cases in one process ----------------------------------------------------------------
@dataclass
class Captured:
    """What one in-process CLI call did."""

    rc: int
    out: str
    err: str
    seconds: float
    exception: str | None = None  # the type of a raw exception that escaped main()
    extra: dict = field(default_factory=dict)


class InProcessCLI:
    """Runs ``mezan.cli.main(argv)`` in this process with fds 1 and 2 pointing at capture files (so output written by
    C++ or by a thread lands there too); the protocol with the parent goes through a duplicate of the original
    stdout, :attr:`proto`."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = folder / "case.out", folder / "case.err"
        sys.stdout.flush()
        self.proto = os.fdopen(os.dup(1), "w", buffering=1)
        self.out_fd = os.open(self.out_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.err_fd = os.open(self.err_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(self.out_fd, 1)
        os.dup2(self.err_fd, 2)

    def emit(self, event: dict) -> None:
        self.proto.write(json.dumps(event, default=str) + "\n")
        self.proto.flush()

    def _reset(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd in (self.out_fd, self.err_fd):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)

    def _read(self, fd: int) -> str:
        size = os.fstat(fd).st_size
        if size > CAPTURE_BYTES:
            return f"<{size:,} bytes of output>"
        os.lseek(fd, 0, os.SEEK_SET)
        chunks, left = [], size
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def call(self, fn, *args, **kwargs) -> Captured:
        """``fn(*args)`` with output captured; a raw exception is printed as the interpreter would and gives rc 1."""
        self._reset()
        rss_before = reset_peak()  # the peak is measured from here
        began = time.perf_counter()
        exception = None
        try:
            rc = fn(*args, **kwargs)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:
            exception = type(exc).__name__
            traceback.print_exc()
            rc = 1
        seconds = time.perf_counter() - began
        sys.stdout.flush()
        sys.stderr.flush()
        grown = (memory_kb()[0] - rss_before) * 1024  # the peak above the resident memory before the case
        return Captured(rc=rc if isinstance(rc, int) else 0, out=self._read(self.out_fd), err=self._read(self.err_fd),
                        seconds=seconds, exception=exception, extra={"peak_growth": grown})

    def main(self, argv: list[str], env: dict[str, str | None] | None = None) -> Captured:
        """``mezan.cli.main(argv)`` with ``env`` set for the call (None removes a variable)."""
        from mezan.cli import main

        saved = {k: os.environ.get(k) for k in env or {}}
        for k, v in (env or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            return self.call(main, list(argv))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def classify(c: Captured, *, json_out: bool = False, memory: float = MEMORY_GROWTH) -> tuple[str, str | None]:
    """The outcome of one CLI run: a valid result, a one-line refusal, or a failure (see the module docstring);
    ``memory``: the peak growth of resident memory the case may have (bytes)."""
    err = c.err
    if c.exception == "MemoryError" or any(s in err for s in MEMORY_SIGNS[:2]):
        return "memory", signature(err) or "MemoryError"
    grown = c.extra.get("peak_growth", 0.0)
    if grown > memory:
        said = (err.strip().splitlines() or ["exit code 0, a result"])[-1][:200] if c.rc else "a result"
        return "memory", f"peak resident memory grew by {grown / 2**20:,.0f} MiB during the case (then: {said})"
    if TRACEBACK in err or c.exception:
        return "traceback", signature(err)
    if c.rc == 0:
        if json_out and not (c.out.startswith("<") and c.out.endswith(" bytes of output>")):
            try:
                value = strict_json(c.out)
            except ValueError as exc:
                return "nonsense", f"--json output is not JSON: {str(exc)[:200]} (stdout starts {c.out[:120]!r})"
            if has_nonfinite(value):
                return "nonsense", "non-finite number in --json output"
        return "ok", None
    lines = [line for line in err.splitlines() if line.strip()]
    if not lines:
        return "unclear", f"exit code {c.rc} and nothing on stderr"
    if "Usage:" in err:  # click/typer's usage error: usage line, hint, and a boxed one-line message
        return "refused", lines[-2].strip(" │╰╯─") if len(lines) >= 2 else lines[-1]
    if len(lines) > 1:
        return "unclear", f"{len(lines)} lines on stderr: " + " / ".join(line[:160] for line in lines[:4])
    return "refused", lines[0][:300]


# ---- the parent side: a worker per batch, restarted after a crash or a hang ------------------------------------
def new_stats(part: str) -> dict:
    return {"part": part, "cases": 0, **{k: 0 for k in (*GOOD, *BAD)}, "slowest_refusal": 0.0,
            "slowest_refusal_case": None, "failures": [], "what": {}, "fuzzer_errors": []}


def record(stats: dict, event: dict, max_examples: int = 400) -> None:
    """Count one finished case (an end event, or a crash/hang the parent saw)."""
    outcome = event["outcome"]
    event = {**event, "desc": shorten(event.get("desc")), "detail": shorten(event.get("detail"))}
    stats["cases"] += 1
    stats[outcome] = stats.get(outcome, 0) + 1
    what = stats["what"].setdefault(str(event.get("what")), {})
    what[outcome] = what.get(outcome, 0) + 1
    if outcome == "refused" and event.get("seconds", 0.0) > stats["slowest_refusal"]:
        stats["slowest_refusal"] = event["seconds"]
        stats["slowest_refusal_case"] = {k: event.get(k) for k in ("case", "what", "desc", "detail")}
    if outcome in BAD and len(stats["failures"]) < max_examples:
        stats["failures"].append({k: event.get(k) for k in ("case", "what", "outcome", "detail", "desc",
                                                            "seconds", "stderr")})


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker and what it started (its own session: a process group we created)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class LineReader:
    """Lines from a pipe, read with os.read so that select() never misses a line already in a buffer."""

    def __init__(self, stream) -> None:
        self.fd, self.buffer, self.eof = stream.fileno(), b"", False

    def lines(self, timeout: float) -> list[str]:
        """The complete lines that arrive within ``timeout`` seconds (none: a timeout; check :attr:`eof`)."""
        if b"\n" not in self.buffer and not self.eof:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if ready:
                chunk = os.read(self.fd, 1 << 16)
                if chunk:
                    self.buffer += chunk
                else:
                    self.eof = True
        *complete, self.buffer = self.buffer.split(b"\n")
        return [line.decode("utf-8", "replace") for line in complete]


def run_workers(part: str, seed: int, count: int, script: str, grace: float = GRACE,
                progress_every: int = 250) -> dict:
    """Run cases 0..count-1 of ``part`` in worker processes (``script --worker PART SEED START COUNT``), each under
    the memory cap in its own session; a worker that dies or hangs is killed and the next one starts after the
    case it was running."""
    stats = new_stats(part)
    next_case, folders = 0, []
    while next_case < count:
        proc = subprocess.Popen([sys.executable, script, "--worker", part, str(seed), str(next_case),
                                 str(count - next_case)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, preexec_fn=limit_memory, start_new_session=True)
        reader = LineReader(proc.stdout)
        current, started, capture, ran = None, time.perf_counter(), None, False
        while True:
            lines = reader.lines(1.0)
            if not lines and not reader.eof:
                if current is not None and time.perf_counter() - started > current["budget"] + grace:
                    _kill(proc)
                    record(stats, {**current, "outcome": "hang", "seconds": time.perf_counter() - started,
                                   "detail": f"no answer after {time.perf_counter() - started:.0f} s "
                                             f"(budget {current['budget']:g} s)"})
                    next_case = current["case"] + 1
                    break
                if current is None and not ran and time.perf_counter() - started > 300:
                    _kill(proc)
                    stats["setup_failure"] = "worker not ready after 300 s"
                    next_case = count
                    break
                continue
            for line in lines:
                event = json.loads(line)
                if event["event"] == "ready":
                    capture, folders = event.get("stderr"), [*folders, event["folder"]]
                elif event["event"] == "fuzzer_error":
                    stats["fuzzer_errors"].append(event)
                    next_case = event["case"] + 1
                elif event["event"] == "start":
                    current, started, ran = event, time.perf_counter(), True
                else:
                    current = None
                    next_case = event["case"] + 1
                    record(stats, event)
                    if stats["cases"] % progress_every == 0:
                        print(f"  {part}: {stats['cases']} cases", flush=True)
            if reader.eof and not reader.buffer:  # the worker ended: done, or died in the middle of `current`
                proc.wait()
                if current is None and not ran:  # died before its first case: a broken setup, not a case
                    stats["setup_failure"] = f"worker exit code {proc.returncode} before its first case"
                    next_case = count
                elif current is not None:
                    err = ""
                    if capture:
                        try:
                            err = Path(capture).read_text(errors="replace")[-4000:]
                        except OSError:
                            pass
                    code = proc.returncode
                    memory = code == -signal.SIGKILL or any(s in err for s in MEMORY_SIGNS)
                    record(stats, {**current, "outcome": "memory" if memory else "crash",
                                   "seconds": time.perf_counter() - started, "stderr": err[-1500:],
                                   "detail": f"worker died (exit code {code}): {signature(err)}"})
                    next_case = current["case"] + 1
                elif proc.returncode != 0 and next_case < count:  # died between two cases (e.g. preparing one)
                    record(stats, {"case": next_case, "what": "between cases", "desc": None, "outcome": "crash",
                                   "detail": f"worker died between cases (exit code {proc.returncode})"})
                    next_case += 1
                break
        proc.stdout.close()
        if proc.poll() is None:
            proc.wait()
        for folder in folders:  # what a killed worker left (sparse files, fifos, its store)
            shutil.rmtree(folder, ignore_errors=True)
    return stats


def worker_loop(part: str, module, seed: int, start: int, count: int) -> None:
    """The worker: ``module.Context(folder)`` prepares what the cases share, then for each case index
    ``module.make_case(rng, ctx, index)`` -> a case dict (what, desc, budget, ...) and
    ``module.run_case(case, ctx, cli)`` -> (outcome, detail, stderr)."""
    import logging
    import random
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=f"mezan-fuzz-{part}-"))
    os.environ["MEZAN_HOME"] = str(folder / "home")
    (folder / "cwd").mkdir()
    os.chdir(folder / "cwd")  # a relative path a case names lands here, never in the repository
    logging.disable(logging.CRITICAL)
    cli = InProcessCLI(folder / "capture")
    ctx = module.Context(folder, cli)
    cli.main(["instances", "--json"])  # imports and first-call costs are paid here, not by the first case
    if hasattr(module, "warm_up"):
        module.warm_up(ctx, cli)
    cli.emit({"event": "ready", "stderr": str(cli.err_path), "folder": str(folder)})
    for index in range(start, start + count):
        rng = random.Random(f"{seed}:{part}:{index}")
        try:
            case = module.make_case(rng, ctx, index)
        except Exception as exc:  # a defect of the fuzzer itself: reported apart, never counted as MEZAN's
            cli.emit({"event": "fuzzer_error", "case": index, "detail": f"make_case: {type(exc).__name__}: {exc}"})
            continue
        cli.emit({"event": "start", "case": index, "what": case["what"], "desc": case["desc"],
                  "budget": case.get("budget", 10.0)})
        began = time.perf_counter()
        try:
            outcome, detail, stderr = module.run_case(case, ctx, cli)
        except MemoryError:
            outcome, detail, stderr = "memory", "MemoryError in the fuzzer's own checks", None
        finally:
            module.cleanup(case, ctx)
        cli.emit({"event": "end", "case": index, "what": case["what"], "desc": case["desc"], "outcome": outcome,
                  "detail": detail, "stderr": (stderr or "")[-1500:] if outcome not in GOOD else None,
                  "seconds": time.perf_counter() - began})
    shutil.rmtree(folder, ignore_errors=True)


def replay(part: str, module, seed: int, index: int) -> None:
    """Run one case in this process and show everything about it (the reproducer of a failure)."""
    import random
    import tempfile

    limit_memory()  # the same cap as the workers: a replayed case must not take the machine's memory
    folder = Path(tempfile.mkdtemp(prefix=f"mezan-fuzz-replay-{part}-"))
    os.environ["MEZAN_HOME"] = str(folder / "home")
    (folder / "cwd").mkdir()
    os.chdir(folder / "cwd")
    cli = InProcessCLI(folder / "capture")
    ctx = module.Context(folder, cli)
    try:
        case = module.make_case(random.Random(f"{seed}:{part}:{index}"), ctx, index)
        cli.emit({"case": index, "what": case["what"], "desc": case["desc"], "budget": case.get("budget")})
        began = time.perf_counter()
        outcome, detail, stderr = module.run_case(case, ctx, cli)
    except Exception:
        cli.proto.write(traceback.format_exc())
        cli.proto.flush()
        raise
    cli.emit({"outcome": outcome, "detail": detail, "seconds": round(time.perf_counter() - began, 3)})
    cli.proto.write(f"--- stderr ---\n{stderr or ''}\n")
    cli.proto.flush()
    if os.environ.get("FUZZ_KEEP") is None:  # FUZZ_KEEP=1 keeps the case's files to look at
        module.cleanup(case, ctx)
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["BAD", "GOOD", "GRACE", "MEMORY_CAP", "Captured", "InProcessCLI", "classify", "limit_memory",
           "new_stats", "record", "replay", "run_workers", "signature", "strict_json", "worker_loop"]
