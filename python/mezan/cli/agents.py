"""``mezan analyze``, ``mezan study`` and ``mezan agents show|list``: the agents from the command line."""

from __future__ import annotations

import json
from typing import Any

import typer

from mezan.agents.atlas import study
from mezan.agents.blackboard import Blackboard
from mezan.agents.deepthink import deepthink
from mezan.cli import common
from mezan.cli.bench import jsonable as _jsonable
from mezan.cli.solve import qaplib_problem
from mezan.dist import make_executor
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.inputs import read_json, shown
from mezan.outputs import check_output
from mezan.problems import from_wire
from mezan.store import Store


def _problem(spec: str) -> Any:
    """A QAPLIB file, an instance's name (bundled or in ``$MEZAN_QAPLIB``), or a wire-form JSON problem."""
    if spec.endswith(".json"):
        data = read_json(spec, what="problem file")  # size, UTF-8 and nesting bounded
        try:
            return from_wire(data)
        except ValueError as exc:
            raise InvalidProblemError(f"{shown(spec)}: not a wire-form problem: {exc}") from None
    return qaplib_problem(spec)  # a .dat file (size-checked first) or an instance's name, as mezan solve reads it


def cmd_analyze(spec: str, *, run: bool, time: float | None, threshold: float, seed: int, store: str | None,
                json_: bool) -> int:

    out = deepthink(_problem(spec), store=Store(store) if store else None, run=run, time_limit=time,
                    threshold=threshold, seed=seed)
    if json_:
        print(json.dumps(_jsonable(out)))
        return 0
    plan = out["plan"]
    print(f"plan: {plan['solver']} for {plan['budget']:g} s"
          + (f"; {plan['compare_seeds']} seeds would tell the two best candidates apart" if plan["compare_seeds"]
             else ""))
    for line in plan["explanation"]:
        print(f"  - {line}")
    for line in plan["missing"]:
        print(f"  ! {line}")
    validator = out.get("validator") or {}
    if validator.get("certify"):
        print(f"  certify: {validator['certify']}")
    if "result" in out:
        r = out["result"]
        print(f"result: {r['objective']} ({r['status']}, {r['wall_time']:.2f} s); checks "
              f"{'passed' if r['checks']['passed'] else 'FAILED'}"
              + ("" if r["bound_gap"] is None else f"; gap to the bound {r['bound_gap']:.2%}"))
    print(f"blackboard topic: {out['topic']} (mezan agents show {out['topic']})")
    return 0


def _study_spec(path: str) -> dict[str, Any]:
    spec = read_json(path, what="study spec")
    if not isinstance(spec, dict):
        raise InvalidParameterError(f"{path}: a study spec is a JSON object")
    unknown = sorted(set(spec) - {"solvers", "instances", "time", "seeds", "fresh", "max_iter"})
    if unknown:
        raise InvalidParameterError(f"{path}: unknown field(s) {', '.join(unknown)}; fields: solvers, instances, "
                                    f"time, seeds, fresh, max_iter")
    for field in ("solvers", "instances"):  # a list of strings, or one comma-separated string
        value = spec.get(field)
        if isinstance(value, str):
            spec[field] = [value]
        elif value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise InvalidParameterError(f"{path}: {field} must be a list of strings, got {value!r}")
    return spec


def cmd_study(solvers: list[str], instances: list[str], *, spec: str | None, time: float, seeds: int | None,
              fresh: int, max_iter: int | None, out: str | None, store: str | None, json_: bool, workers: int = 1,
              scheduler: str | None = None, force: bool = False) -> int:

    if out is not None:  # refused now, not after the whole study ran
        check_output(out, option="--out", force=force, store=store)
    if spec:
        given = _study_spec(spec)
        solvers = solvers or given.get("solvers", [])
        instances = instances or given.get("instances", [])
        time = given.get("time", time)
        seeds = given.get("seeds", seeds)
        fresh = given.get("fresh", fresh)
        max_iter = given.get("max_iter", max_iter)
    names = [s for v in solvers or [] for s in str(v).split(",") if s]
    if not instances:
        raise InvalidParameterError("--instances: give at least one instance spec")
    executor = make_executor(scheduler, workers=workers, quiet=True)
    try:
        found = study(names, list(instances), time_limit=time, seeds=seeds, fresh=fresh, max_iter=max_iter,
                      store=Store(store) if store else None, out=out, executor=executor)
    finally:
        executor.close()
    if json_:
        print(json.dumps(_jsonable(found)))
        return 0
    print(f"study {found['topic']}: {found['design']['instances']} instances x {len(found['design']['solvers'])} "
          f"solvers x {found['design']['seeds']} seeds")
    print(f"  {found['results'].get('friedman', '')}")
    for verdict in found["results"].get("pairwise", []):
        print(f"  {verdict}")
    for h in found["hypotheses"]:
        print(f"  hypothesis: {h['text']} -> {h['verdict']} ({h['reason']})")
    print(f"  methodology: {found['methodology']['verdict']}")
    if found.get("report"):
        print(f"report: {found['report']}")
    return 0


def cmd_show(topic: str | None, store: str | None, json_: bool) -> int:

    board = Blackboard(Store(store) if store else None)
    if topic is None:
        topics = board.topics()
        common.emit(json_, {"topics": [{"topic": name, "posts": count, "last": last} for name, count, last in topics]},
                    *(f"{name}\t{count} posts" for name, count, _ in topics))
        return 0
    posts = board.posts(topic)
    if not posts:
        raise InvalidParameterError(f"no blackboard topic {topic!r} (see `mezan agents list`)")
    tampered = board.audit(topic)
    if json_:
        print(json.dumps(_jsonable({"topic": topic, "posts": [p.to_dict() for p in posts], "tampered": tampered})))
        return 0
    for p in posts:
        summary = json.dumps(_jsonable(p.content))
        print(f"#{p.id} {p.author} [{p.kind}]" + (f" (re #{p.parent})" if p.parent else "")
              + f": {summary[:300]}{'…' if len(summary) > 300 else ''}")
        if p.evidence:
            print(f"    evidence: {', '.join(p.evidence[:8])}{' …' if len(p.evidence) > 8 else ''}")
    print("audit: intact" if not tampered else f"audit: posts {tampered} do not match their checksums")
    return 0 if not tampered else 1


def register(app: typer.Typer) -> None:

    store_option = common.store_option()
    json_option = common.json_option()

    @app.command("analyze", short_help=common.about("analyze"))
    def analyze(file: str = typer.Argument(..., help="a QAPLIB .dat file, a bundled instance, or a JSON problem"),
                run: bool = typer.Option(False, "--run", help="execute the plan and verify the result"),
                time: float = common.time_option(help="the time limit in seconds: the plan's budget is at most "
                                                      "this"),
                threshold: float = typer.Option(0.001, "--threshold", help="gap a budget step must buy"),
                seed: int = common.seed_option(), store: str = store_option, json_: bool = json_option):
        """DeepThink 3+1: analyse a problem (Analyzer, Optimizer, Validator, then Synthesizer) and plan its solve."""
        return cmd_analyze(file, run=run, time=time, threshold=threshold, seed=seed, store=store, json_=json_)

    @app.command("study", short_help=common.about("study"))
    def study_(spec: str = typer.Argument(None, help="a SPEC.json holding solvers, instances, time, seeds"),
               solvers: list[str] = typer.Option(None, "--solvers", help="solvers, comma-separated"),
               instances: list[str] = typer.Option(None, "--instances", help="OptiBench instance specs"),
               time: float = common.time_option(),
               seeds: int = typer.Option(None, "--seeds", help="seeds per instance (default: a power argument)"),
               fresh: int = typer.Option(8, "--fresh", help="fresh instances per hypothesis for the critic"),
               max_iter: int = typer.Option(None, "--max-iter", help="an iteration cap per run"),
               out: str = typer.Option(None, "--out", help="write the HTML report here"),
               force: bool = typer.Option(False, "--force", help="overwrite an existing --out file (never the store)"),
               workers: int = typer.Option(1, "--workers", min=1, help="local threads running cells at once"),
               scheduler: str = typer.Option(None, "--scheduler", help="a Dask scheduler address (default: "
                                                                      "$MEZAN_SCHEDULER)"),
               store: str = store_option, json_: bool = json_option):
        """ATLAS: which solver is best on these instances, and when does each win (hypotheses, tested)."""
        return cmd_study(solvers or [], instances or [], spec=spec, time=time, seeds=seeds, fresh=fresh,
                         max_iter=max_iter, out=out, store=store, json_=json_, workers=workers, scheduler=scheduler,
                         force=force)

    agents = common.new_app(help=common.about("agents"))

    @agents.command("show")
    def show(topic: str = typer.Argument(..., help="a blackboard topic"), store: str = store_option,
             json_: bool = json_option):
        """Replay a topic's posts in order, with their evidence, and audit their checksums."""
        return cmd_show(topic, store, json_)

    @agents.command("list")
    def list_(store: str = store_option, json_: bool = json_option):
        """The blackboard's topics, newest first."""
        return cmd_show(None, store, json_)

    app.add_typer(agents, name="agents")


__all__ = ["register"]
