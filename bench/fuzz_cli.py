"""Fuzzing the CLI's file readers: ``mezan solve FILE``, ``mezan analyze FILE`` and ``mezan bench register FILE`` on
hostile files, run in-process in a long-lived worker (``mezan.cli.main(argv)``, output captured per case).

Files (:func:`hostile_file`, also used by the OptiBench and MCP parts): JSON nested 100k deep (also inside an object,
and brackets inside a string that must not count), NaN / Infinity / 1e999 literals, integers of 5,000 digits,
non-UTF-8 bytes, UTF-16, a BOM, empty and whitespace-only files, truncated JSON, wire-form problems with hostile
values, composite requests; QAPLIB ``.dat`` files with bytes after a NUL, hex / underscore / Arabic-Indic digits,
too few or too many numbers, n negative, 0, 10^9 or 2^64, a 10 MB number, non-UTF-8 bytes, odd whitespace; files
larger than the readers allow (sparse, so they cost no disk), folders, missing files, symlink loops, dangling links,
links to /dev/zero, devices, /proc files, named pipes, paths with a NUL byte, a newline, 5,000 characters.

Every run must end with a valid result (checked: JSON without NaN, a permutation whose objective recomputes) or a
one-line error and a non-zero exit code; never a traceback, never a hang, never unbounded memory.
"""

from __future__ import annotations

import json
import math
import os
import random
import shlex
import shutil
from pathlib import Path

import fuzz
from fuzz_proc import classify, strict_json

SPARSE_BIG = 300 * 2**20  # more than the 256 MiB the readers accept
SPARSE_HUGE = 10 * 2**30


# ---- file contents ----------------------------------------------------------------------------------------------
def small_qap(rng: random.Random, n: int | None = None) -> tuple[list[list[int]], list[list[int]]]:
    n = n if n is not None else rng.randint(2, 9)
    A = [[0 if i == j else rng.randint(0, 20) for j in range(n)] for i in range(n)]
    B = [[0 if i == j else rng.randint(0, 20) for j in range(n)] for i in range(n)]
    return A, B


def dat_text(A: list, B: list, n: object | None = None, sep: str = " ", newline: str = "\n") -> str:
    lines = [str(len(A) if n is None else n), ""]
    lines += [sep.join(str(x) for x in row) for row in A]
    lines.append("")
    lines += [sep.join(str(x) for x in row) for row in B]
    return newline.join(lines) + newline


def _numbers_replaced(rng: random.Random, text: str, pool: list[str], times: int) -> str:
    tokens = text.split(" ")
    for _ in range(times):
        k = rng.randrange(1, len(tokens)) if len(tokens) > 1 else 0
        tokens[k] = rng.choice(pool) + ("\n" if tokens[k].endswith("\n") else "")
    return " ".join(tokens)


ODD_NUMBERS = ["0x1F", "1e5", "1_000", "+5", "inf", "nan", "-inf", "1e400", "\u0661\u0662", "0b101", "1.5", "-0",
               "99999999999999999999999999", "1,5", "٣", "５", "1e-400", "--1", "1..2", "0o17", "Infinity", "NaN",
               "1e308", "-1e308", "\u00a0", "١"]
N_VALUES = ["-3", "0", "1", "2", "1000000000", "46341", "100000", "18446744073709551616", "3.0", "3.5", "1e3",
            "-0", "9" * 30]


def json_bytes(rng: random.Random) -> tuple[bytes, str, dict | None]:
    """(content, description, expectation) of a hostile .json file."""
    kind = rng.choice(["deep", "deep", "deep_obj", "deep_string", "nan", "bigint", "1e999", "nonutf8", "utf16",
                       "bom", "empty", "scalar", "truncated", "wire", "wire", "wire", "valid", "valid", "dup_keys",
                       "composite", "wide", "ctrl"])
    if kind == "deep":
        depth = rng.choice([101, 1000, 100_000, 1_000_000])
        closed = rng.random() < 0.5
        return (b"[" * depth + (b"]" * depth if closed else b""), f"'[' * {depth:,}" + (" + ']' * same" if closed
                                                                                       else ""), None)
    if kind == "deep_obj":
        depth = rng.choice([200, 100_000])
        return (b'{"type": "qap", "A": ' + b"[" * depth + b"]" * depth + b', "B": [[0]]}',
                f'{{"type": "qap", "A": [[[... {depth:,} deep ...]]], "B": [[0]]}}', None)
    if kind == "deep_string":
        A, B = small_qap(rng, 3)
        body = json.dumps({"type": "qap", "name": "[" * 200_000, "A": A, "B": B}).encode()
        return body, "a valid n=3 QAP whose 'name' is '[' * 200,000 (brackets in a string do not nest)", {
            "qap": (A, B)}
    if kind == "nan":
        literal = rng.choice(["NaN", "Infinity", "-Infinity", "nan", "inf"])
        return (f'{{"type": "qap", "A": [[{literal}, 1], [1, 0]], "B": [[0, 1], [1, 0]]}}'.encode(),
                f"a qap with A[0][0] = {literal} (a literal)", None)
    if kind == "bigint":
        digits = rng.choice([4301, 5000, 100_000])
        return (f'{{"type": "qap", "A": [[0, 1{"0" * digits}], [1, 0]], "B": [[0, 1], [1, 0]]}}'.encode(),
                f"a qap with an integer of {digits + 1:,} digits", None)
    if kind == "1e999":
        return (b'{"type": "qap", "A": [[0, 1e999], [1, 0]], "B": [[0, 1], [1, 0]]}',
                "a qap with the literal 1e999", None)
    if kind == "nonutf8":
        bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"])
        return (b'{"type": "qap", "name": "x' + bad + b'", "A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]}',
                f"a qap whose name holds the bytes {bad!r}", None)
    if kind == "utf16":
        return ('{"type": "qap", "A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]}'.encode("utf-16"),
                "a qap encoded as UTF-16 (with its BOM)", None)
    if kind == "bom":
        A, B = small_qap(rng, 3)
        return (b"\xef\xbb\xbf" + json.dumps({"type": "qap", "A": A, "B": B}).encode(),
                "a valid n=3 qap after a UTF-8 BOM", {"qap": (A, B)})
    if kind == "empty":
        content = rng.choice([b"", b"   \n", b"\x00", b"\n\n\t"])
        return content, f"the bytes {content!r}", None
    if kind == "scalar":
        content = rng.choice([b"null", b"[]", b'"x"', b"0", b"true", b"{}", b"-1e308", b'{"type": null}'])
        return content, f"the JSON value {content.decode()}", None
    if kind == "truncated":
        A, B = small_qap(rng, 4)
        text = json.dumps({"type": "qap", "A": A, "B": B}).encode()
        cut = rng.randrange(1, len(text) - 1)
        return text[:cut], f"a qap's JSON cut after {cut} of {len(text)} bytes", None
    if kind == "wire":
        body = fuzz.wire_problem(rng)
        text = json.dumps(body, allow_nan=True)
        return text.encode(), f"the wire form {text[:300]}", None
    if kind == "composite":
        text = json.dumps(fuzz.composite(rng), allow_nan=True)
        return text.encode(), f"the composite request {text[:300]}", None
    if kind == "valid":
        A, B = small_qap(rng)
        text = json.dumps({"type": "qap", "A": A, "B": B})
        return text.encode(), f"a valid qap {text[:200]}", {"qap": (A, B)}
    if kind == "dup_keys":
        return (b'{"type": "qap", "type": "workflow", "A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]}',
                "a qap whose 'type' key appears twice (qap, then workflow)", None)
    if kind == "wide":
        n = rng.choice([1000, 100_000])
        return (b'{"type": "qap", "A": [' + b",".join([b"0"] * n) + b'], "B": [[0]]}',
                f"a qap whose A is a flat list of {n:,} zeros", None)
    ctrl = rng.choice(["\u0000", "\u2028", "\ud800"])
    return (json.dumps({"type": "qap", "name": f"a{ctrl}b", "A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]}).encode(
        "utf-8", "surrogatepass"), f"a qap whose name holds {ctrl!r} (escaped in JSON)", None)


def dat_bytes(rng: random.Random) -> tuple[bytes, str, dict | None]:
    """(content, description, expectation) of a hostile QAPLIB .dat file."""
    kind = rng.choice(["valid", "valid", "nul", "odd", "odd", "short", "long", "n", "n", "nonutf8", "empty",
                       "whitespace", "text", "long_number", "negative", "one"])
    A, B = small_qap(rng)
    n = len(A)
    text = dat_text(A, B)
    if kind == "valid":
        return text.encode(), f"a valid n={n} QAPLIB file", {"qap": (A, B)}
    if kind == "nul":
        where = rng.choice(["end", "inside"])
        if where == "end":
            garbage = rng.choice([b"\x00garbage", b"\x00\xff\xfe 1 2 3", b"\x00" * 10, b"\x00 7 7 7"])
            return text.encode() + garbage, f"a valid n={n} QAPLIB file followed by {garbage!r}", None
        data = text.encode()
        k = data.index(b" ", len(str(n)) + 2)
        return data[:k] + b"\x00" + data[k:], f"a n={n} QAPLIB file with a NUL byte inside its first row", None
    if kind == "odd":
        pool = rng.sample(ODD_NUMBERS, 1)
        changed = _numbers_replaced(rng, text, pool, rng.randint(1, 3))
        return changed.encode(), f"a n={n} QAPLIB file with numbers written as {pool[0]!r}", None
    if kind == "short":
        tokens = text.split()
        drop = rng.randint(1, len(tokens) - 1)
        return " ".join(tokens[:-drop]).encode(), f"a n={n} QAPLIB file missing its last {drop} numbers", None
    if kind == "long":
        extra = rng.randint(1, 50)
        return (text + " 1" * extra).encode(), f"a n={n} QAPLIB file with {extra} numbers too many", None
    if kind in ("n", "negative", "one"):
        value = rng.choice(N_VALUES) if kind == "n" else ("-3" if kind == "negative" else "1")
        return dat_text(A, B, n=value).encode(), f"a QAPLIB file that says n = {value} (then {n}x{n} matrices)", None
    if kind == "nonutf8":
        data = text.encode()
        k = rng.randrange(len(data))
        return data[:k] + b"\xff\xfe" + data[k:], f"a n={n} QAPLIB file with the bytes ff fe at offset {k}", None
    if kind == "empty":
        return b"", "an empty file", None
    if kind == "whitespace":
        content = rng.choice([b"\n\n\n", b"\t \x0b\x0c\r\n", b"   "])
        return content, f"only whitespace {content!r}", None
    if kind == "text":
        content = rng.choice([b"hello world\n", b"n = 3\n", b"<html></html>", b'{"type": "qap"}', b"3\n\nA B C\n"])
        return content, f"the text {content!r}", None
    digits = rng.choice([5000, 10_000_000])
    return (f"3\n\n1{'0' * digits} 0 0\n" + "0 0 0\n" * 5).encode(), f"a QAPLIB file holding a number of {digits:,} " \
                                                                    "digits", None


# ---- paths ------------------------------------------------------------------------------------------------------
def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


def hostile_file(rng: random.Random, folder: Path, ext: str | None = None) -> tuple[str, str, dict | None]:
    """(path, description, expectation) of one hostile file made in ``folder``; ``ext`` ".json" or ".dat" (or None:
    either). The expectation is None or {"qap": (A, B)} for a file that holds a valid QAP."""
    ext = ext or rng.choice([".json", ".dat"])
    folder.mkdir(parents=True, exist_ok=True)
    r = rng.random()
    path = folder / f"x{ext}"
    if r < 0.80:
        content, desc, expect = json_bytes(rng) if ext == ".json" else dat_bytes(rng)
        path.write_bytes(content)
        return str(path), f"{path.name} = {desc}", expect
    kind = rng.choice(["sparse", "sparse_huge", "folder", "missing", "loop", "dangling", "zero_link", "device",
                       "proc", "fifo", "nul", "newline", "long", "name_long", "bundled", "empty_arg", "self_link",
                       "dir_link", "sparse_small"])
    if kind == "sparse":
        _sparse(path, SPARSE_BIG)
        return str(path), f"{path.name} = a sparse file of {SPARSE_BIG:,} zero bytes", None
    if kind == "sparse_huge":
        _sparse(path, SPARSE_HUGE)
        return str(path), f"{path.name} = a sparse file of {SPARSE_HUGE:,} zero bytes", None
    if kind == "sparse_small":
        size = 50 * 2**20
        _sparse(path, size)
        return str(path), f"{path.name} = a sparse file of {size:,} zero bytes (under the size limit)", None
    if kind == "folder":
        path.mkdir()
        if rng.random() < 0.5:
            (path / "inner.dat").write_text(dat_text(*small_qap(rng, 3)))
        return str(path), f"{path.name} is a folder", None
    if kind == "missing":
        return str(path), f"{path.name} does not exist", None
    if kind == "loop":
        other = folder / f"y{ext}"
        path.symlink_to(other)
        other.symlink_to(path)
        return str(path), f"{path.name} -> y{ext} -> {path.name} (a symlink loop)", None
    if kind == "self_link":
        path.symlink_to(path)
        return str(path), f"{path.name} -> itself", None
    if kind == "dangling":
        path.symlink_to(folder / "nowhere")
        return str(path), f"{path.name} -> a missing file", None
    if kind == "dir_link":
        path.symlink_to("/etc")
        return str(path), f"{path.name} -> /etc (a folder)", None
    if kind == "zero_link":
        target = rng.choice(["/dev/zero", "/dev/urandom", "/dev/null", "/dev/full"])
        path.symlink_to(target)
        return str(path), f"{path.name} -> {target}", None
    if kind == "device":
        target = rng.choice(["/dev/zero", "/dev/null", "/dev/urandom", "/dev/full"])
        return target, f"the device {target}", None
    if kind == "proc":
        target = rng.choice(["/proc/self/environ", "/proc/self/maps", "/proc/self/status", "/etc/passwd",
                             "/proc/self/mem", "/proc/kcore"])
        return target, f"the file {target}", None
    if kind == "fifo":
        os.mkfifo(path)
        return str(path), f"{path.name} is a named pipe (nobody writes to it)", None
    if kind == "nul":
        return f"{folder}/x\x00{ext}", f"a path holding a NUL byte: {folder}/x\\x00{ext}", None
    if kind == "newline":
        weird = folder / f"a\nb{ext}"
        weird.write_text("3\n")
        return str(weird), f"a file named 'a\\nb{ext}' holding '3'", None
    if kind == "long":
        return f"{folder}/{'d/' * 2500}x{ext}", f"a path of {len(str(folder)) + 5000:,} characters", None
    if kind == "name_long":
        return f"{folder}/{'n' * 300}{ext}", f"a file name of {300 + len(ext)} characters", None
    if kind == "bundled":
        name = rng.choice(["nug12", "had12", "nug12.dat", "../nug12", "NUG12", "nug12 "])
        return name, f"the name {name!r}", None
    return "", "an empty path", None


# ---- the part ---------------------------------------------------------------------------------------------------
GOOD_TIMES = ["0.05", "0.1", "0.05", "0.2", "1e-300", "0.5"]
BAD_TIMES = ["nan", "-1", "0", "x", "", "-inf", "true", "1e999"]
GOOD_SEEDS = ["0", "7", "9223372036854775807"]
BAD_SEEDS = ["-1", "18446744073709551616", "x", "1e3", "9223372036854775808"]
MODES = ["auto", "hybrid", "fft", "aggressive", "auto", "nope", ""]
METHODS = ["rots", "anneal", "local", "faq", "bnb", "memetic", "rots", "nope", ""]


def pick(rng: random.Random, good: list, bad: list, p_good: float = 0.75) -> str:
    """Mostly a good option value (so that the file is read), sometimes a hostile one."""
    return rng.choice(good) if rng.random() < p_good else rng.choice(bad)


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


class Context:
    def __init__(self, folder: Path, _cli) -> None:
        self.folder = folder


def warm_up(_ctx: Context, cli) -> None:
    """Load what the first solve and analysis of a process load (models, the bound code), before the first case."""
    cli.main(["solve", "nug12", "--time", "0.05", "--json"])
    cli.main(["analyze", "nug12", "--json"])


def make_case(rng: random.Random, ctx: Context, index: int) -> dict:
    command = rng.choice(["solve", "solve", "solve", "analyze", "register"])
    case_dir = ctx.folder / f"c{index}"
    ext = rng.choice([".json", ".dat"]) if rng.random() < 0.95 else rng.choice(["", ".txt", ".JSON"])
    path, desc, expect = hostile_file(rng, case_dir, ext)
    json_out = rng.random() < 0.8
    argv: list[str] = [command] if command != "register" else ["bench", "register"]
    argv.append(path)
    budget = 8.0
    if command == "solve":
        time_text = pick(rng, GOOD_TIMES, BAD_TIMES) if rng.random() < 0.9 else None
        if time_text is not None:
            argv += ["--time", time_text]
        limit = _seconds(time_text) if time_text is not None else 10.0
        budget += 3 * (limit or 0)
        if rng.random() < 0.3:
            argv += ["--seed", pick(rng, GOOD_SEEDS, BAD_SEEDS, 0.5)]
        if rng.random() < 0.2:
            argv += rng.choice([["--mode", rng.choice(MODES)], ["--method", rng.choice(METHODS)]])
    elif command == "analyze":
        if rng.random() < 0.3:
            argv.append("--run")
            argv += ["--time", pick(rng, ["0.2", "0.1"], ["nan", "-1", "0"])]
            budget += 2
        elif rng.random() < 0.5:
            argv += ["--time", pick(rng, GOOD_TIMES, BAD_TIMES)]
        budget += 5  # the first analysis in a process loads its models
    else:
        if rng.random() < 0.3:
            argv.append("--replace")
    if json_out:
        argv.append("--json")
    return {"what": f"{command} {Path(path).suffix or '(no ext)'}", "argv": argv, "dir": str(case_dir),
            "desc": f"{command_line(argv)}  [{desc}]", "json": json_out,
            "expect": expect if command == "solve" else None, "budget": budget}


def command_line(argv: list[str]) -> str:
    """The command as a shell would take it (a NUL byte, which no shell can pass, shown as \\x00)."""
    return "mezan " + " ".join(shlex.quote(a).replace("\x00", "\\x00") for a in argv)


def check_result(out: str, expect: dict | None) -> str | None:
    """None if a --json solve result is valid for the QAP the file holds, else what is wrong."""
    if not expect:
        return None
    A, B = expect["qap"]
    record = strict_json(out)
    p = record.get("solution") if isinstance(record, dict) else None
    if p is None:
        p = record.get("permutation") if isinstance(record, dict) else None
    n = len(A)
    if not isinstance(p, list) or sorted(p) != list(range(n)):
        return f"solution {p} is not a permutation of 0..{n - 1}"
    recomputed = sum(A[i][j] * B[p[i]][p[j]] for i in range(n) for j in range(n))
    if record.get("objective") != recomputed:
        return f"objective {record.get('objective')} != recomputed {recomputed}"
    return None


def run_case(case: dict, _ctx: Context, cli) -> tuple[str, str | None, str | None]:
    c = cli.main(case["argv"])
    outcome, detail = classify(c, json_out=case["json"])
    if outcome == "ok" and case["json"] and case["expect"]:
        problem = check_result(c.out, case["expect"])
        if problem:
            outcome, detail = "nonsense", problem
    return outcome, detail, c.err


def cleanup(case: dict, _ctx: Context) -> None:
    shutil.rmtree(case["dir"], ignore_errors=True)
