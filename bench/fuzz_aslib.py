"""Fuzzing the ASlib reader: scenarios written in temp folders from a random valid one (2-10 instances, 1-4
algorithms, repetitions, feature steps with costs and run status, 2+ folds, runtime or solution quality), then 0-3
hostile mutations: YAML alias bombs, 100k-deep nesting, tags and a 2 MB description; a cutoff of 0, -5, true, .inf,
.nan, text or 1e300; costs that are inf, NaN, negative, text or 1e400; unknown run statuses; no runs, one instance,
one algorithm, a missing pair, all timeouts, all costs equal (SBS = VBS); folds of 1e300, 0, 2.5 or text, one fold,
a missing fold; malformed ARFF; non-UTF-8 bytes; files missing, empty, replaced by a folder, a symlink loop, a link
to /dev/zero or a sparse 300 MB file; cyclic or unknown feature steps.

Each case reads the scenario either through the library (``read_scenario`` and ``score`` of a random selection) or
through ``mezan meta aslib evaluate DIR --json`` (in-process, output captured), sometimes with a hostile
``--selections`` path. The outcome must be a clear error or sane numbers: no bare NaN in the JSON, VBS <= selector
and VBS <= SBS, m-hat >= 0, equal to (selector - VBS) / (SBS - VBS) and within what the costs allow (PAR10 x cutoff
at most, for a runtime scenario), gap closed = 1 - m-hat, m-hat null only when SBS = VBS.
"""

from __future__ import annotations

import math
import os
import random
import shutil
from pathlib import Path

from fuzz_cli import command_line
from fuzz_proc import MEMORY_GROWTH, classify, strict_json

APPROACHES = ["knn", "knn", "sunny", "sunny", "pairwise", "regression", "forest_mean", "ensemble", "auto", "nope", ""]
STATUSES = ["ok", "timeout", "memout", "not_applicable", "crash", "other"]
STEP_STATUSES = ["ok", "timeout", "memout", "presolved", "crash", "other", "unknown"]


# ---- a valid scenario, as a model ------------------------------------------------------------------------------
def base_model(rng: random.Random, index: int) -> dict:
    n_inst, n_alg = rng.randint(2, 10), rng.randint(1, 4)
    runtime = rng.random() < 0.8
    cutoff = rng.choice([10, 100, 3600, 0.5]) if runtime else None
    reps = rng.choice([1, 1, 1, 3])
    features = [f"f{k}" for k in range(rng.choice([0, 1, 1, 2, 2, 3, 3]))]
    steps = {}
    for k in range(rng.randint(0, 2) if features else 0):
        steps[f"s{k}"] = {"provides": rng.sample(features, rng.randint(1, len(features)))}
    instances = [f"i{k}" for k in range(n_inst)]
    algorithms = [f"a{k}" for k in range(n_alg)]
    runs = []
    for inst in instances:
        for alg in algorithms:
            for rep in range(1, reps + 1):
                if runtime:
                    value = round(rng.uniform(0, cutoff * 1.3), 3)
                    status = "ok" if value <= cutoff else "timeout"
                    if rng.random() < 0.05:
                        status = rng.choice(["crash", "memout"])
                else:
                    value, status = round(rng.uniform(-50, 500), 3), "ok"
                runs.append([inst, rep, alg, value, status])
    n_folds = rng.randint(2, min(n_inst, 10))
    folds = [k % n_folds + 1 for k in range(n_inst)]
    rng.shuffle(folds)
    fvalues = [[inst, 1, *[("?" if rng.random() < 0.1 else round(rng.uniform(-5, 5), 3)) for _ in features]]
               for inst in instances]
    costs = [[inst, 1, *[round(rng.uniform(0, (cutoff or 10) / 10), 3) for _ in steps]] for inst in instances] \
        if steps and runtime and rng.random() < 0.7 else None
    status = [[inst, 1, *[rng.choice(["ok"] * 8 + ["presolved", "crash"]) for _ in steps]] for inst in instances] \
        if steps and rng.random() < 0.5 else None
    return {"id": f"S{index}", "runtime": runtime, "maximize": False if runtime else rng.random() < 0.5,
            "measure": "runtime" if runtime else "quality", "cutoff": cutoff, "cutoff_known": True,
            "features": features, "steps": steps, "default_steps": list(steps), "instances": instances,
            "algorithms": algorithms, "runs": runs, "fvalues": fvalues, "costs": costs, "status": status,
            "folds": [[inst, 1, fold] for inst, fold in zip(instances, folds, strict=True)], "extra_yaml": "",
            "files": {}}


def _yaml(value: object) -> str:
    return "\n".join(f"- {v}" for v in value) if value else " []"


def description(m: dict) -> str:
    lines = [f"scenario_id: {m['id']}", "performance_measures:", f"- {m['measure']}",
             "maximize:", f"- {'true' if m['maximize'] else 'false'}",
             "performance_type:", f"- {'runtime' if m['runtime'] else 'solution_quality'}",
             f"algorithm_cutoff_time: {m['cutoff'] if m['cutoff'] is not None else chr(39) + '?' + chr(39)}",
             "algorithm_cutoff_memory: '?'", "features_cutoff_time: '?'", "features_cutoff_memory: '?'",
             "default_steps:" + ("\n" + _yaml(m["default_steps"]) if m["default_steps"] else " []")]
    if m["steps"]:
        lines.append("feature_steps:")
        for name, spec in m["steps"].items():
            lines.append(f"  {name}:")
            for key, values in spec.items():
                lines.append(f"    {key}:" + ("".join(f"\n    - {v}" for v in values) if values else " []"))
    else:
        lines.append("feature_steps: {}")
    return "\n".join(lines) + "\n" + m["extra_yaml"]


def arff(relation: str, attributes: list[tuple[str, str]], rows: list[list]) -> str:
    head = [f"@RELATION {relation}", *(f"@ATTRIBUTE {n} {t}" for n, t in attributes), "@DATA"]
    return "\n".join(head + [",".join(str(v) for v in row) for row in rows]) + "\n"


def files(m: dict) -> dict[str, str | bytes | None]:
    """The scenario's files (None: leave it out), the model's overrides applied last."""
    out: dict[str, str | bytes | None] = {
        "description.txt": description(m),
        "algorithm_runs.arff": arff("runs", [("instance_id", "STRING"), ("repetition", "NUMERIC"),
                                             ("algorithm", "STRING"), (m["measure"], m.get("measure_type", "NUMERIC")),
                                             ("runstatus", "{" + ", ".join(STATUSES) + "}")], m["runs"]),
        "feature_values.arff": arff("features", [("instance_id", "STRING"), ("repetition", "NUMERIC"),
                                                 *((f, m.get("feature_type", "NUMERIC")) for f in m["features"])],
                                    m["fvalues"]),
        "cv.arff": arff("cv", [("instance_id", "STRING"), ("repetition", "NUMERIC"),
                               ("fold", m.get("fold_type", "NUMERIC"))], m["folds"]),
    }
    if m["costs"] is not None:
        out["feature_costs.arff"] = arff("costs", [("instance_id", "STRING"), ("repetition", "NUMERIC"),
                                                   *((s, m.get("cost_type", "NUMERIC")) for s in m["steps"])],
                                         m["costs"])
    if m["status"] is not None:
        out["feature_runstatus.arff"] = arff("status", [("instance_id", "STRING"), ("repetition", "NUMERIC"),
                                                        *((s, "{" + ",".join(STEP_STATUSES) + "}")
                                                          for s in m["steps"])], m["status"])
    out.update(m["files"])
    return out


# ---- mutations -------------------------------------------------------------------------------------------------
def bomb(levels: int) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 9)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


def _set_value(rng: random.Random, rows: list[list], column: int, values: list) -> str:
    row = rng.randrange(len(rows)) if rows else None
    if row is None:
        return "no row to change"
    value = rng.choice(values)
    rows[row][column] = value
    return f"row {row + 1} column {column + 1} = {value}"


def mutate(rng: random.Random, m: dict) -> str:
    """Apply one hostile change to the model; returns what it did."""
    kind = rng.choice(["bomb", "deep", "big", "cutoff", "cutoff", "ptype", "maximize", "measures", "drop_field",
                       "steps", "default_steps", "tag", "desc_bytes", "desc_empty", "scenario_id",
                       "run_value", "run_value", "run_value", "run_status", "no_runs", "one_instance",
                       "one_algorithm", "missing_pair", "all_timeouts", "all_equal", "arff_syntax", "instance_ids",
                       "feature_value", "feature_rows", "cost_value", "cost_value", "step_status", "fold_value",
                       "fold_value", "one_fold", "missing_fold", "fold_repetition", "file_gone", "file_kind",
                       "non_utf8", "huge_runs"])
    name = kind
    if kind == "bomb":
        levels = rng.choice([10, 20, 30])
        m["extra_yaml"] += bomb(levels)
        return f"description.txt: a YAML alias bomb of {levels} levels (9**{levels} strings expanded)"
    if kind == "deep":
        depth = rng.choice([40, 1000, 100_000])
        m["extra_yaml"] += "deep: " + "[" * depth + "\n"
        return f"description.txt: 'deep: ' + '[' * {depth:,}"
    if kind == "big":
        m["extra_yaml"] += "# padding\n" * 200_000
        return "description.txt: 2 MB of comments"
    if kind == "cutoff":
        value = rng.choice(["0", "-5", "true", ".inf", ".nan", "'?'", "1e300", "1e-300", "abc", "[]", "null", "{}",
                            "0x10", "1_000", "2e308", "-.inf", "[100, 200]", "'100'"])
        m["cutoff"], m["cutoff_known"] = value, False
        return f"description.txt: algorithm_cutoff_time: {value}"
    if kind == "ptype":
        value = rng.choice(["runtime2", "[]", "null", "1", "{a: 1}"])
        m["extra_yaml"] += ""
        m["files"]["description.txt"] = description(m).replace(
            f"performance_type:\n- {'runtime' if m['runtime'] else 'solution_quality'}", f"performance_type: {value}")
        return f"description.txt: performance_type: {value}"
    if kind == "maximize":
        value = rng.choice(["'false'", "1", "null", "[]", "yes", "[true, false]"])
        m["files"]["description.txt"] = description(m).replace(
            f"maximize:\n- {'true' if m['maximize'] else 'false'}", f"maximize: {value}")
        return f"description.txt: maximize: {value}"
    if kind == "measures":
        value = rng.choice(["[]", "null", "nope", "{a: 1}", "[runtime, quality]", "'instance_id'", "runstatus"])
        m["files"]["description.txt"] = description(m).replace(f"performance_measures:\n- {m['measure']}",
                                                                f"performance_measures: {value}")
        return f"description.txt: performance_measures: {value}"
    if kind == "drop_field":
        field = rng.choice(["scenario_id", "performance_measures", "maximize", "performance_type",
                            "algorithm_cutoff_time", "default_steps", "feature_steps"])
        text = description(m)
        kept = []
        skipping = False
        for line in text.splitlines():
            if line.startswith(f"{field}:"):
                skipping = True
                continue
            if skipping and (line.startswith(" ") or line.startswith("-")):
                continue
            skipping = False
            kept.append(line)
        m["files"]["description.txt"] = "\n".join(kept) + "\n"
        return f"description.txt: field {field} removed"
    if kind == "steps":
        choice = rng.choice(["cycle", "unknown_requires", "unknown_provides", "list", "string", "null_step"])
        if choice == "cycle":
            m["steps"] = {"s0": {"provides": m["features"][:1], "requires": ["s1"]},
                          "s1": {"provides": m["features"][1:2], "requires": ["s0"]}}
            m["default_steps"] = ["s0"]
            m["costs"] = m["status"] = None
        elif choice == "unknown_requires":
            m["steps"] = {**m["steps"], "sx": {"provides": [], "requires": ["nowhere"]}}
            m["default_steps"] = [*m["default_steps"], "sx"]
            m["costs"] = m["status"] = None
        elif choice == "unknown_provides":
            m["steps"] = {**m["steps"], "sy": {"provides": ["no_such_feature"]}}
            m["costs"] = m["status"] = None
        else:
            value = {"list": "[a, b]", "string": "abc", "null_step": "{a: null}"}[choice]
            text = description(m)
            head = text.split("feature_steps:")[0]
            m["files"]["description.txt"] = head + f"feature_steps: {value}\n"
        return f"description.txt: feature_steps {choice}"
    if kind == "default_steps":
        m["default_steps"] = rng.choice([["nope"], ["s0", "s0"], [], ["s9"]])
        return f"description.txt: default_steps {m['default_steps']}"
    if kind == "tag":
        value = rng.choice(["x: !!python/object/apply:os.system ['echo hi']", "x: !!binary aGk=", "x: !!set {a, b}",
                            "x: !!timestamp 2001-12-14", "x: !!float nan", "x: !custom 1", "? [a, b]\n: c"])
        m["extra_yaml"] += value + "\n"
        return f"description.txt: {value!r}"
    if kind == "desc_bytes":
        m["files"]["description.txt"] = description(m).encode().replace(b"scenario_id: ", b"scenario_id: \xff\xfe")
        return "description.txt: the bytes ff fe in scenario_id"
    if kind == "desc_empty":
        m["files"]["description.txt"] = rng.choice(["", "\n", "null\n", "[]\n", "just text\n", "a: b: c\n"])
        return f"description.txt = {m['files']['description.txt']!r}"
    if kind == "scenario_id":
        value = rng.choice(["null", "[a]", "'" + "x" * 100_000 + "'", "../../etc", "''", "{a: 1}", "1e400"])
        m["id"] = value
        return f"description.txt: scenario_id: {value[:40]}"
    if kind == "run_value":
        value = rng.choice(["inf", "nan", "-1", "-inf", "abc", "1e308", "1e-308", "?", "1e400", "0", "-0", "1e300",
                            "NaN", "Infinity", "1,5", "'3'"])
        if value in ("abc", "'3'") and rng.random() < 0.5:
            m["measure_type"] = "STRING"
        m["cutoff_known"] = False if value in ("1e308", "1e300", "1e400", "inf", "Infinity") else m["cutoff_known"]
        where = _set_value(rng, m["runs"], 3, [value])
        return f"algorithm_runs.arff: {m['measure']} {where}" + (" (attribute STRING)" if m.get("measure_type") else "")
    if kind == "run_status":
        where = _set_value(rng, m["runs"], 4, ["fine", "?", "OK", "", "presolved"])
        return f"algorithm_runs.arff: runstatus {where}"
    if kind == "no_runs":
        m["runs"] = []
        return "algorithm_runs.arff: no rows"
    if kind == "one_instance":
        first = m["instances"][0]
        m["runs"] = [r for r in m["runs"] if r[0] == first]
        return "algorithm_runs.arff: runs of one instance only"
    if kind == "one_algorithm":
        first = m["algorithms"][0]
        m["runs"] = [r for r in m["runs"] if r[2] == first]
        return "algorithm_runs.arff: runs of one algorithm only"
    if kind == "missing_pair":
        if m["runs"]:
            dropped = m["runs"].pop(rng.randrange(len(m["runs"])))
            m["runs"] = [r for r in m["runs"] if (r[0], r[2]) != (dropped[0], dropped[2])]
            return f"algorithm_runs.arff: no run of {dropped[2]} on {dropped[0]}"
        return "algorithm_runs.arff: nothing to drop"
    if kind == "all_timeouts":
        for r in m["runs"]:
            r[4] = "timeout"
        return "algorithm_runs.arff: every run timed out"
    if kind == "all_equal":
        for r in m["runs"]:
            r[3], r[4] = 1.0, "ok"
        return "algorithm_runs.arff: every run costs 1.0 (SBS = VBS)"
    if kind == "arff_syntax":
        text = files(m)["algorithm_runs.arff"]
        change = rng.choice(["@DATUM", "quote", "relation", "attribute", "short_row", "long_row", "sparse"])
        if change == "@DATUM":
            text = text.replace("@DATA", "@DATUM")
        elif change == "quote":
            text = text.replace("i0,", "'i0,", 1)
        elif change == "relation":
            text = text.split("\n", 1)[1]
        elif change == "attribute":
            text = text.replace("@ATTRIBUTE runstatus", "@ATTRIBUTE", 1)
        elif change == "short_row":
            text = text.rstrip("\n") + "\ni0,1\n"
        elif change == "long_row":
            text = text.rstrip("\n") + "\ni0,1,a0,1,ok,extra,more\n"
        else:
            text = text.rstrip("\n") + "\n{0 i0, 3 5}\n"
        m["files"]["algorithm_runs.arff"] = text
        return f"algorithm_runs.arff: malformed ({change})"
    if kind == "instance_ids":
        value = rng.choice(["''", "?", "'" + "x" * 10_000 + "'", "'a,b'", "'ü'", "I0", "'i0 '", "0"])
        for r in m["runs"]:
            if r[0] == m["instances"][0]:
                r[0] = value
        return f"algorithm_runs.arff: instance i0 renamed {value[:30]} there only"
    if kind == "feature_value":
        if not m["features"]:
            m["features"] = ["f0"]
            m["fvalues"] = [[r[0], 1, 0.5] for r in m["fvalues"]]
        value = rng.choice(["inf", "nan", "abc", "-inf", "1e400", "?", "1e308"])
        if value == "abc":
            m["feature_type"] = "STRING"
        where = _set_value(rng, m["fvalues"], 2 + rng.randrange(len(m["features"])), [value])
        return f"feature_values.arff: {where}"
    if kind == "feature_rows":
        change = rng.choice(["missing", "extra", "none", "duplicate"])
        if change == "missing":
            m["fvalues"] = m["fvalues"][1:]
        elif change == "extra":
            m["fvalues"] = [*m["fvalues"], ["zz", 1, *([1.0] * len(m["features"]))]]
        elif change == "none":
            m["fvalues"] = []
        else:
            m["fvalues"] = [*m["fvalues"], list(m["fvalues"][0])]
        return f"feature_values.arff: rows {change}"
    if kind == "cost_value":
        if m["costs"] is None:
            if not m["steps"]:
                m["features"] = m["features"] or ["f0"]
                m["fvalues"] = [[r[0], 1, *([0.5] * len(m["features"]))] for r in m["fvalues"]]
                m["steps"] = {"s0": {"provides": m["features"][:1]}}
                m["default_steps"] = ["s0"]
                m["status"] = None
            m["costs"] = [[inst, 1, *([1.0] * len(m["steps"]))] for inst in m["instances"]]
        value = rng.choice(["inf", "nan", "-1", "abc", "-inf", "1e400", "?", "1e308", "-0"])
        if value == "abc":
            m["cost_type"] = "STRING"
        where = _set_value(rng, m["costs"], 2 + rng.randrange(len(m["steps"])), [value])
        return f"feature_costs.arff: {where}"
    if kind == "step_status":
        if m["status"] is None or not m["steps"]:
            return "feature_runstatus.arff: (no steps: unchanged)"
        value = rng.choice(["presolved", "?", "weird"])
        for r in m["status"]:
            r[2] = value
        return f"feature_runstatus.arff: every first step {value}"
    if kind == "fold_value":
        value = rng.choice(["1e300", "0", "-1", "2.5", "?", "abc", "inf", "nan", "99", "1e-300", "2.0000000001"])
        if value == "abc":
            m["fold_type"] = "STRING"
        where = _set_value(rng, m["folds"], 2, [value])
        return f"cv.arff: fold {where}"
    if kind == "one_fold":
        for r in m["folds"]:
            r[2] = 1
        return "cv.arff: every instance in fold 1"
    if kind == "missing_fold":
        m["folds"] = m["folds"][1:]
        return "cv.arff: the first instance has no fold"
    if kind == "fold_repetition":
        for r in m["folds"]:
            r[1] = rng.choice([2, "?", 0])
        return "cv.arff: no row of repetition 1"
    if kind == "file_gone":
        name = rng.choice(["description.txt", "algorithm_runs.arff", "feature_values.arff", "cv.arff"])
        m["files"][name] = None
        return f"{name} missing"
    if kind == "file_kind":
        name = rng.choice(["description.txt", "algorithm_runs.arff", "feature_values.arff", "cv.arff",
                           "feature_costs.arff"])
        how = rng.choice(["folder", "loop", "zero", "sparse", "fifo", "dangling", "empty"])
        m["files"][name] = ("special", how)
        return f"{name} is {how}"
    if kind == "non_utf8":
        name = rng.choice(["algorithm_runs.arff", "feature_values.arff", "cv.arff"])
        text = files(m)[name]
        m["files"][name] = text.encode().replace(b"i1", b"i\xff1")
        return f"{name}: the byte ff inside an instance name"
    # huge_runs: many rows (the reader's cost must stay bounded: it is only a scenario)
    n = rng.choice([2000, 20_000])
    algs = m["algorithms"]
    m["instances"] = [f"i{k}" for k in range(n)]
    top = m["cutoff"] if isinstance(m["cutoff"], (int, float)) and 0 < m["cutoff"] < 1e6 else 10
    m["runs"] = [[f"i{k}", 1, a, round(rng.uniform(0, top), 2), "ok"] for k in range(n) for a in algs]
    m["fvalues"] = [[f"i{k}", 1, *([1.0] * len(m["features"]))] for k in range(n)]
    m["folds"] = [[f"i{k}", 1, k % 10 + 1] for k in range(n)]
    m["costs"] = [[f"i{k}", 1, *([0.1] * len(m["steps"]))] for k in range(n)] if m["costs"] is not None else None
    m["status"] = None
    return f"{n:,} instances x {len(algs)} algorithms ({name})"


def write(folder: Path, m: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files(m).items():
        path = folder / name
        if content is None:
            continue
        if isinstance(content, tuple):
            how = content[1]
            if how == "folder":
                path.mkdir()
            elif how == "loop":
                path.symlink_to(folder / "loop2")
                (folder / "loop2").symlink_to(path)
            elif how == "zero":
                path.symlink_to("/dev/zero")
            elif how == "sparse":
                with open(path, "wb") as handle:
                    handle.truncate(300 * 2**20)
            elif how == "fifo":
                os.mkfifo(path)
            elif how == "dangling":
                path.symlink_to(folder / "nowhere")
            else:
                path.write_bytes(b"")
            continue
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))


# ---- the part ----------------------------------------------------------------------------------------------------
class Context:
    def __init__(self, folder: Path, _cli) -> None:
        from mezan.store import Store

        self.folder = folder
        self.home = Path(os.environ["MEZAN_HOME"])
        Store().close()  # the default store exists: a --selections path may name it
        self.existing = folder / "existing.json"
        self.existing.write_text("keep me\n")


def warm_up(ctx: Context, cli) -> None:
    m = base_model(random.Random(0), 0)
    folder = ctx.folder / "warm"
    write(folder / "S", m)
    cli.main(["meta", "aslib", "evaluate", str(folder / "S"), "--json", "--approach", "knn", "--workers", "1"])
    shutil.rmtree(folder, ignore_errors=True)


def make_case(rng: random.Random, ctx: Context, index: int) -> dict:
    m = base_model(rng, index)
    changes = [mutate(rng, m) for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3]))]
    case_dir = ctx.folder / f"c{index}"
    scenario = case_dir / m["id"] if m["id"].isidentifier() else case_dir / "S"
    write(scenario, m)
    where = str(scenario)
    models = {m["id"]: m}
    if rng.random() < 0.08:  # a folder of scenarios: this one and a valid sibling
        sibling = base_model(rng, index + 1)
        sibling["id"] = "SIB"
        write(case_dir / "SIB", sibling)
        models["SIB"] = sibling
        where = str(case_dir)
        changes.append("evaluated as a folder of 2 scenarios (the other one valid)")
    desc = "; ".join(changes) or "a valid scenario"
    memory = MEMORY_GROWTH if len(m["instances"]) <= 2000 else 3 * MEMORY_GROWTH  # 20,000 instances: 1.5 GiB
    shape = f"{len(m['instances'])} instances x {len(m['algorithms'])} algorithms x {len(m['features'])} features, " \
            f"{'runtime, cutoff ' + str(m['cutoff']) if m['runtime'] else 'quality'}"
    if rng.random() < 0.35:
        picks = [rng.randrange(max(1, len(m["algorithms"]))) for _ in m["instances"]]
        return {"what": "read_scenario+score", "mode": "library", "dir": str(case_dir), "path": where,
                "picks": picks, "models": models, "memory": memory,
                "desc": f"read_scenario({where!r}) and score() [{shape}; {desc}]", "budget": 20.0}
    approach = rng.choice(APPROACHES)
    if approach == "auto" and len(m["instances"]) > 2000:
        approach = "knn"  # auto cross-validates every approach: 20,000 instances take minutes by design
    argv = ["meta", "aslib", "evaluate", where, "--json", "--approach", approach, "--workers", "1"]
    if rng.random() < 0.2:
        argv += ["--seed", rng.choice(["1", "-1", "99999999999999999999", "x"])]
    if rng.random() < 0.15:
        argv += rng.choice([["--no-schedules"], ["--feature-steps", rng.choice(["all", "default", "nope"])]])
    selections = None
    if rng.random() < 0.12:
        selections = rng.choice([str(case_dir / "sel.json"), str(ctx.existing), str(case_dir),
                                 str(case_dir / "no" / "x"), "/dev/full", str(ctx.home / "mezan.db"),
                                 str(ctx.home / "mezan.db-wal"), f"{case_dir}/x\x00.json", ""])
        argv += ["--selections", selections]
        if rng.random() < 0.3:
            argv.append("--force")
    budget = 40.0 if approach == "auto" or "20,000" in desc else 20.0
    return {"what": f"evaluate --approach {approach or '(empty)'}", "mode": "cli", "dir": str(case_dir),
            "argv": argv, "models": models, "selections": selections, "memory": memory,
            "desc": f"{command_line(argv)}  [{shape}; {desc}]", "budget": budget}


def bounds(m: dict) -> tuple[float, float] | None:
    """The range every mean cost must lie in, when the model still says it (None: the mutation made it unknown)."""
    if not m["runtime"]:
        values = [r[3] for r in m["runs"] if isinstance(r[3], (int, float))]
        if not values or len(values) != len(m["runs"]):
            return None
        if m["maximize"]:
            values = [-v for v in values]
        return min(values), max(values)
    if not m["cutoff_known"] or not isinstance(m["cutoff"], (int, float)):
        return None
    return 0.0, 10.0 * m["cutoff"]


def presolve_possible(m: dict) -> bool:
    """Whether a feature step may solve an instance (status presolved): the selector may then beat the VBS, which
    runs algorithms only, and m-hat may be below 0."""
    status = files(m).get("feature_runstatus.arff")
    return status is not None and "presolved" in (status if isinstance(status, str) else "presolved")


def check_scores(rows: list[dict], models: dict[str, dict]) -> str | None:
    """None if every row's numbers are sane (each checked against the model of its scenario, when known), else what
    is wrong."""
    for r in rows:
        m = models.get(str(r.get("scenario")))
        presolve = m is None or presolve_possible(m)
        sel, sbs, vbs, m_hat, closed = (r.get(k) for k in ("selector", "sbs", "vbs", "m_hat", "gap_closed"))
        for name, value in (("selector", sel), ("sbs", sbs), ("vbs", vbs)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                return f"{name} = {value!r} (a finite number expected)"
        scale = max(1.0, abs(sel), abs(sbs), abs(vbs))
        eps = 1e-9 * scale
        if vbs > sbs + eps or (vbs > sel + eps and not (presolve or r.get("presolved_instances"))):
            return f"VBS {vbs} above the SBS {sbs} or the selector {sel}"
        limits = bounds(m) if m is not None else None
        if limits is not None and not (limits[0] - eps <= vbs and sel <= limits[1] + eps and sbs <= limits[1] + eps):
            return f"mean costs selector {sel}, SBS {sbs}, VBS {vbs} outside [{limits[0]}, {limits[1]}]"
        if m_hat is None:
            if abs(sbs - vbs) > eps:
                return f"m_hat null while SBS {sbs} != VBS {vbs}"
            continue
        if not isinstance(m_hat, (int, float)) or not math.isfinite(m_hat):
            return f"m_hat = {m_hat!r}"
        if m_hat < -1e-9 and not (presolve or r.get("presolved_instances")):
            return f"m_hat = {m_hat} < 0 (selector {sel}, SBS {sbs}, VBS {vbs})"
        expected = (sel - vbs) / (sbs - vbs) if sbs != vbs else None
        if expected is None or abs(m_hat - expected) > 1e-6 * max(1.0, abs(expected)):
            return f"m_hat = {m_hat}, (selector - VBS) / (SBS - VBS) = {expected}"
        if closed is not None and abs(closed - (1 - m_hat)) > 1e-6 * max(1.0, abs(m_hat)):
            return f"gap_closed = {closed}, 1 - m_hat = {1 - m_hat}"
    return None


def _library(path: str, picks: list[int]) -> dict:
    import numpy as np

    from mezan.errors import MezanError
    from mezan.meta.aslib import read_scenario, score

    try:
        scenario = read_scenario(path)
        chosen = np.array([p % len(scenario.algorithms) for p in picks[:len(scenario.instances)]]
                          + [0] * max(0, len(scenario.instances) - len(picks)), dtype=int)
        s = score(scenario, chosen)
    except MezanError as exc:
        return {"refused": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {"scenario": scenario.name, "selector": float(s.selector), "sbs": float(s.sbs), "vbs": float(s.vbs),
            "m_hat": None if not math.isfinite(s.m_hat) else float(s.m_hat),
            "gap_closed": None if not math.isfinite(s.gap_closed) else float(s.gap_closed),
            "raw_m_hat": float(s.m_hat)}


def run_case(case: dict, ctx: Context, cli) -> tuple[str, str | None, str | None]:
    models = case["models"]
    if case["mode"] == "library":
        result: dict = {}
        c = cli.call(lambda: result.update(_library(case["path"], case["picks"])))
        if c.exception:
            outcome = "memory" if c.exception == "MemoryError" else "unexpected"
            return outcome, f"{c.exception}: {c.err.strip().splitlines()[-1][:300] if c.err.strip() else ''}", c.err
        if c.extra["peak_growth"] > case["memory"]:
            return "memory", f"peak resident memory grew by {c.extra['peak_growth'] / 2**20:,.0f} MiB", None
        if "refused" in result:
            return "refused", result["refused"], None
        raw = result.pop("raw_m_hat")
        if math.isnan(raw) and abs(result["sbs"] - result["vbs"]) > 1e-9 * max(1.0, abs(result["sbs"])):
            return "nonsense", f"m_hat is NaN while SBS {result['sbs']} != VBS {result['vbs']}", None
        problem = check_scores([result], models)
        return ("nonsense", problem, None) if problem else ("ok", None, None)
    before = ctx.existing.read_bytes()
    c = cli.main(case["argv"])
    outcome, detail = classify(c, json_out=True, memory=case["memory"])
    if outcome == "ok":
        value = strict_json(c.out)
        rows = value if isinstance(value, list) else [value]
        problem = check_scores(rows, models)
        if problem:
            outcome, detail = "nonsense", problem
    if ctx.existing.read_bytes() != before and "--force" not in case["argv"]:
        outcome, detail = "nonsense", f"--selections {ctx.existing} overwritten without --force"
    ctx.existing.write_bytes(before)
    return outcome, detail, c.err


def cleanup(case: dict, _ctx: Context) -> None:
    shutil.rmtree(case["dir"], ignore_errors=True)
