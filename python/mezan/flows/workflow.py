"""WorkFlow: DAG task scheduling with renewable resources and agents (RCPSP), minimising the makespan.

1. Lower bound: the largest of the critical path (longest precedence chain of durations), each
   resource's energy bound ceil(sum_i d_i r_ik / capacity_k), and each agent's total work.
2. Heuristic: the serial schedule-generation scheme (Kelley 1963; Kolisch 1996) — tasks taken in
   order of priority (latest finish time from the critical-path analysis, then id), each started at
   the earliest time its predecessors, its resources and its agent allow — followed by forward-
   backward improvement (double justification, Valls, Ballestín & Quintanilla 2005): shift every task
   as late as possible in decreasing order of finish time, then as early as possible in increasing
   order of start, while the makespan decreases.
3. Exact: OR-Tools CP-SAT with one interval per task, a cumulative constraint per resource, no-overlap
   per agent and the precedences, minimising the makespan, hinted with the heuristic schedule, for
   the rest of the time limit. Status "optimal" when CP-SAT proves it; else the best schedule found and
   the larger of the two bounds.
"""

from __future__ import annotations

import bisect
import copy
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.problems import WorkflowProblem, WorkflowTask
from mezan.results import Result
from mezan.running import reports_final_objective, seconds_left, time_limit_seconds

METHODS = ("auto", "cpsat", "heuristic")


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class WorkflowResult(Result):
    """Outcome of :func:`solve_workflow`: the common fields of :class:`mezan.results.Result` and WorkFlow's own.

    All fields are keyword-only.

    Parameters
    ----------
    solution : dict of str to int or None, optional
        Task id -> start time (also read as :attr:`start`); None when there is no schedule.
    objective : float or None, optional
        The makespan (also read as :attr:`makespan`); None exactly when there is no solution.
    status : Status or str, default "feasible"
        "optimal" (proven), "timeout" (CP-SAT's time ran out before a proof), "feasible" (the heuristic alone),
        "cancelled" or "infeasible" (no solution; ``reason`` says why).
    lower_bound : float or None, optional
        A proven bound on the optimal makespan.
    upper_bound : float or None, optional
        The makespan of the schedule found.
    gap : float or None, optional
        (makespan - lower_bound) / makespan; 0 when optimal.
    solver : str or None, default "workflow"
        The solver that ran.
    seed : int or None, optional
        The seed CP-SAT used (None: its default, 0).
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Not counted by WorkFlow (0).
    trace : list of (float, float), optional
        The anytime curve, (seconds, makespan) pairs; WorkFlow leaves it empty (``progress`` reports each
        improvement instead).
    explanation : str, optional
        What the solver did (the heuristic, then CP-SAT for how long).
    reason : str, optional
        Why there is no schedule, when there is none (e.g. a task needing more of a resource than its capacity).
    critical_path : list of str, optional
        The longest precedence chain, as task ids in order.

    Attributes
    ----------
    start : dict of str to int or None
        The solution under its scheduling name.
    makespan : int or None
        The objective under its scheduling name.
    """

    critical_path: list[str] = field(default_factory=list)
    solver: str | None = "workflow"

    @property
    def start(self) -> dict[str, int] | None:
        """The solution under its scheduling name."""
        return self.solution

    @property
    def makespan(self) -> int | None:
        """The objective under its scheduling name."""
        return None if self.objective is None else int(self.objective)


class _Instance:
    """Index-based view of a problem: durations, demands, agents, predecessors, topological order."""

    def __init__(self, problem: WorkflowProblem) -> None:
        self.ids = [t.id for t in problem.tasks]
        index = {t: i for i, t in enumerate(self.ids)}
        self.duration = [t.duration for t in problem.tasks]
        self.resources = list(problem.resources)
        self.capacity = [problem.resources[r] for r in self.resources]
        self.demand = [[t.resources.get(r, 0) for r in self.resources] for t in problem.tasks]
        self.agent = [t.agent for t in problem.tasks]
        self.pred: list[list[int]] = [[] for _ in self.ids]
        self.succ: list[list[int]] = [[] for _ in self.ids]
        for a, b in problem.precedences:
            self.pred[index[b]].append(index[a])
            self.succ[index[a]].append(index[b])
        self.order = self._topological()

    def _topological(self) -> list[int]:
        indegree = [len(p) for p in self.pred]
        ready = sorted(i for i, d in enumerate(indegree) if d == 0)
        order = []
        while ready:
            i = ready.pop(0)
            order.append(i)
            for j in self.succ[i]:
                indegree[j] -= 1
                if indegree[j] == 0:
                    ready.append(j)
        return order

    def earliest_finish(self) -> list[int]:
        finish = [0] * len(self.ids)
        for i in self.order:
            finish[i] = max((finish[p] for p in self.pred[i]), default=0) + self.duration[i]
        return finish

    def critical_path(self) -> list[int]:
        """A longest precedence chain: from the task finishing last, back through the predecessor that
        finishes latest (it finishes exactly when the task starts)."""
        finish = self.earliest_finish()
        if not finish:
            return []
        node = max(range(len(finish)), key=lambda i: (finish[i], -i))
        path = [node]
        while self.pred[node]:
            node = max(self.pred[node], key=lambda p: (finish[p], -p))
            path.append(node)
        return path[::-1]

    def mirrored(self) -> _Instance:
        """The same instance with every precedence reversed (for backward scheduling)."""
        other = copy.copy(self)
        other.pred, other.succ = self.succ, self.pred
        return other

    def lower_bound(self) -> int:
        bound = max(self.earliest_finish(), default=0)
        for k, cap in enumerate(self.capacity):
            energy = sum(d * dem[k] for d, dem in zip(self.duration, self.demand, strict=True))
            if energy and cap:
                bound = max(bound, math.ceil(energy / cap))
        work: dict[str, int] = {}
        for i, a in enumerate(self.agent):
            if a is not None:
                work[a] = work.get(a, 0) + self.duration[i]
        return max([bound, *work.values()])


class _Profile:
    """Resource and agent usage over time as a step function, for the schedule-generation scheme.

    ``times`` are the breakpoints (sorted) and ``usage[k]`` the units of each resource, then of each agent
    (capacity 1), used on [times[k], times[k + 1]) — the last segment runs to infinity and is empty once every
    placed task has ended. The earliest start of a task from time t on: scan the segments its interval would
    cover; at the first one where it does not fit, no start before that segment's end can fit either (the
    interval would still cover part of it), so jump there. Exact (the first feasible integer start, as a
    unit-by-unit scan finds), and O(breakpoints) per scan and placement whatever the durations.
    """

    def __init__(self, inst: _Instance) -> None:
        self.inst = inst
        agents = sorted({a for a in inst.agent if a is not None})
        agent_slot = {a: len(inst.capacity) + k for k, a in enumerate(agents)}
        self.capacity = list(inst.capacity) + [1] * len(agents)
        self.need = [demand + [0] * len(agents) for demand in inst.demand]
        for i, a in enumerate(inst.agent):
            if a is not None:
                self.need[i][agent_slot[a]] = 1
        self.times = [0]
        self.usage = [[0] * len(self.capacity)]

    def earliest(self, i: int, t: int) -> int:
        """The first start >= t at which task i fits."""
        duration = self.inst.duration[i]
        if duration == 0:
            return t
        need = [(r, n) for r, n in enumerate(self.need[i]) if n]
        times, usage, capacity = self.times, self.usage, self.capacity
        while True:
            k = bisect.bisect_right(times, t) - 1
            end = t + duration
            conflict = -1
            while k < len(times) and times[k] < end:
                if any(usage[k][r] + n > capacity[r] for r, n in need):
                    conflict = k
                    break
                k += 1
            if conflict < 0:
                return t
            t = times[conflict + 1]  # the last segment never conflicts (demands within capacity are checked first)

    def _split(self, t: int) -> int:
        """Make t a breakpoint; its index."""
        k = bisect.bisect_right(self.times, t) - 1
        if self.times[k] == t:
            return k
        self.times.insert(k + 1, t)
        self.usage.insert(k + 1, list(self.usage[k]))
        return k + 1

    def place(self, i: int, start: int) -> None:
        duration = self.inst.duration[i]
        if duration == 0:
            return
        first, last = self._split(start), self._split(start + duration)
        for k in range(first, last):
            row = self.usage[k]
            for r, n in enumerate(self.need[i]):
                row[r] += n


def _serial_sgs(inst: _Instance, order: list[int], earliest: list[int] | None = None) -> list[int]:
    """Serial schedule generation in a precedence-feasible ``order``: each task at the first time >= its
    predecessors' finish (and ``earliest``) where resources and agent fit."""
    profile = _Profile(inst)
    start = [0] * len(order)
    for i in order:
        t = max([start[p] + inst.duration[p] for p in inst.pred[i]] + [earliest[i] if earliest else 0])
        t = profile.earliest(i, t)
        start[i] = t
        profile.place(i, t)
    return start


def _justify(inst: _Instance, start: list[int]) -> list[int]:
    """One backward + forward justification pass (never lengthens the schedule)."""
    makespan = max(s + d for s, d in zip(start, inst.duration, strict=True))
    # Backward: in decreasing finish order, schedule the mirrored instance (successors become predecessors).
    mirrored = inst.mirrored()
    by_finish = sorted(range(len(start)), key=lambda i: (-(start[i] + inst.duration[i]), i))
    late = _serial_sgs(mirrored, by_finish)
    right = [makespan - (late[i] + inst.duration[i]) for i in range(len(start))]
    shift = min(right)
    right = [s - shift for s in right]
    by_start = sorted(range(len(start)), key=lambda i: (right[i], i))
    return _serial_sgs(inst, by_start)


def heuristic_schedule(inst: _Instance, should_stop: Any = None) -> list[int]:
    """Critical-path-priority serial SGS, then forward-backward improvement until no gain or until
    ``should_stop()`` (the budget or a cancel) says to return the best so far."""
    finish = inst.earliest_finish()
    horizon = max(finish, default=0)
    latest_finish = [horizon] * len(finish)
    for i in reversed(inst.order):
        for j in inst.succ[i]:
            latest_finish[i] = min(latest_finish[i], latest_finish[j] - inst.duration[j])
    # Priority: smallest latest finish first, among tasks whose predecessors are placed (a topological
    # order by priority).
    placed, order = set(), []
    remaining = set(range(len(finish)))
    while remaining:
        ready = [i for i in remaining if all(p in placed for p in inst.pred[i])]
        i = min(ready, key=lambda k: (latest_finish[k], k))
        order.append(i)
        placed.add(i)
        remaining.remove(i)
    start = _serial_sgs(inst, order)
    best = max((s + d for s, d in zip(start, inst.duration, strict=True)), default=0)
    while should_stop is None or not should_stop():
        improved = _justify(inst, start)
        makespan = max((s + d for s, d in zip(improved, inst.duration, strict=True)), default=0)
        if makespan >= best:
            return start
        start, best = improved, makespan
    return start


def _cpsat(inst: _Instance, hint: list[int], upper: int, time_limit: float, seed: int | None, stop: Any = None,
           progress: Any = None, started: float = 0.0):
    """CP-SAT from the heuristic's schedule: (start times or None, proven optimal, bound). ``stop`` set ends the
    search (a watcher thread calls ``stop_search``); ``progress(makespan, elapsed)`` on every improving solution.
    ``time_limit`` counts from this call: CP-SAT gets what is left of it once the model is built."""
    entered = time.perf_counter()
    from ortools.sat.python import cp_model  # start-up time: the registry imports mezan.flows

    model = cp_model.CpModel()
    starts, ends, intervals = [], [], []
    for i, d in enumerate(inst.duration):
        s = model.new_int_var(0, upper, f"s{i}")
        e = model.new_int_var(0, upper, f"e{i}")
        intervals.append(model.new_interval_var(s, d, e, f"x{i}"))
        starts.append(s)
        ends.append(e)
        model.add_hint(s, hint[i])
    for i, preds in enumerate(inst.pred):
        for p in preds:
            model.add(starts[i] >= ends[p])
    for k, cap in enumerate(inst.capacity):
        users = [i for i in range(len(intervals)) if inst.demand[i][k]]
        if users:
            model.add_cumulative([intervals[i] for i in users], [inst.demand[i][k] for i in users], cap)
    agents: dict[str, list[int]] = {}
    for i, a in enumerate(inst.agent):
        if a is not None:
            agents.setdefault(a, []).append(i)
    for members in agents.values():
        model.add_no_overlap([intervals[i] for i in members])
    makespan = model.new_int_var(0, upper, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, seconds_left(time_limit, entered))
    solver.parameters.num_workers = 2
    # CP-SAT otherwise installs its own SIGINT handler, after which Ctrl-C kills the whole process
    # instead of reaching Python (and MEZAN's cancel-and-return-the-best handling).
    solver.parameters.catch_sigint_signal = False
    solver.parameters.random_seed = 0 if seed is None else int(seed) % (2**31)


    class Improvements(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if progress is not None:
                progress(float(self.objective_value), time.perf_counter() - started)

    finished = threading.Event()

    def watch() -> None:  # stop_search() is a no-op until solve() has started: repeat it until the solve ends
        while not finished.wait(0.02):
            if stop is not None and stop.is_set():
                solver.stop_search()

    watcher = threading.Thread(target=watch, name="mezan-cpsat-stop", daemon=True)
    watcher.start()
    try:
        status = solver.solve(model, Improvements())
    finally:
        finished.set()
        watcher.join()
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = math.ceil(solver.best_objective_bound - 1e-9)
        return [solver.value(s) for s in starts], status == cp_model.OPTIMAL, bound
    return None, False, None


@reports_final_objective
def solve_workflow(problem: WorkflowProblem, *, time_limit: float = 10.0, seed: int | None = None, stop: Any = None,
                   progress: Any = None, method: str = "auto") -> WorkflowResult:
    """Schedule a workflow: minimise its makespan under precedences, resource capacities and agents.

    A critical-path list schedule, improved by forward-backward justification, then (unless ``method`` is
    "heuristic" or the heuristic schedule already meets the lower bound) OR-Tools CP-SAT hinted with it for the
    rest of the budget (see :mod:`mezan.flows.workflow`).

    Parameters
    ----------
    problem : WorkflowProblem
        The tasks, precedences and resource capacities.
    time_limit : float or None, default 10.0
        Seconds for the whole solve (None or ``inf``: no limit).
    seed : int or None, optional
        CP-SAT's random seed (None: 0); the heuristic is deterministic.
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, the solve ends with the best schedule so far (status "cancelled"
        unless proven optimal).
    progress : callable, optional
        ``progress(makespan, elapsed_seconds)``, called on every improving schedule (and once at the end).
    method : {"auto", "cpsat", "heuristic"}, default "auto"
        "auto": the heuristic, then CP-SAT for the rest of the budget; "cpsat": the same (named for clarity);
        "heuristic": no CP-SAT.

    Returns
    -------
    WorkflowResult
        The start times, the makespan, the critical path and a proven lower bound; status "infeasible" (with a
        ``reason``) when a task needs more of a resource than its capacity.

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not a :class:`WorkflowProblem`, ``time_limit`` is not a positive number of seconds,
        or ``method`` is unknown.
    """
    start_clock = time.perf_counter()
    if not isinstance(problem, WorkflowProblem):
        raise InvalidParameterError(f"problem must be a WorkflowProblem, got {type(problem).__name__}")
    time_limit = time_limit_seconds(time_limit)
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    inst = _Instance(problem)
    for i, task in enumerate(problem.tasks):
        for k, resource in enumerate(inst.resources):
            if inst.demand[i][k] > inst.capacity[k]:
                return WorkflowResult(status="infeasible", reason=f"task {task.id!r} needs {inst.demand[i][k]} "
                                      f"units of {resource!r}, whose capacity is {inst.capacity[k]}",
                                      wall_time=time.perf_counter() - start_clock, solver="workflow")
    bound = inst.lower_bound()
    start = heuristic_schedule(inst, lambda: (stop is not None and stop.is_set())
                               or time.perf_counter() - start_clock > time_limit)
    makespan = max((s + d for s, d in zip(start, inst.duration, strict=True)), default=0)
    how = "critical-path serial SGS + forward-backward improvement"
    optimal = makespan == bound
    if not optimal and method != "heuristic":
        left = seconds_left(time_limit, start_clock)
        if progress is not None:
            progress(float(makespan), time.perf_counter() - start_clock)
        if left > 0.05 and not (stop is not None and stop.is_set()):
            exact, proven, cp_bound = _cpsat(inst, start, makespan, left, seed, stop, progress, start_clock)
            how += f", then CP-SAT ({left:.2g} s)"
            if exact is not None:
                exact_makespan = max((s + d for s, d in zip(exact, inst.duration, strict=True)), default=0)
                if exact_makespan <= makespan:
                    start, makespan = exact, exact_makespan
                bound = max(bound, cp_bound if cp_bound is not None else bound)
                optimal = proven or makespan == bound
    if optimal:
        bound = makespan
    gap = 0.0 if makespan == bound else (makespan - bound) / max(makespan, 1)
    critical = [inst.ids[i] for i in inst.critical_path()]
    cancelled = stop is not None and stop.is_set() and not optimal
    status = "optimal" if optimal else "cancelled" if cancelled else "feasible" if method == "heuristic" else "timeout"
    return WorkflowResult(solution={inst.ids[i]: int(s) for i, s in enumerate(start)}, objective=int(makespan),
                          status=status, critical_path=critical, lower_bound=int(bound), upper_bound=int(makespan),
                          gap=gap, seed=seed,
                          wall_time=time.perf_counter() - start_clock, solver="workflow", explanation=how)


def generate_rcpsp(n: int = 30, resources: int = 4, *, seed: int = 0, strength: float = 0.5,
                   resource_factor: float = 0.5) -> WorkflowProblem:
    """A PSPLIB j30-like RCPSP instance in the spirit of ProGen (Kolisch, Sprecher & Drexl 1995): n
    tasks with durations U{1..10}; each task gets 1-3 successors among later tasks (and every task but
    the first few a predecessor); each task uses each resource with probability ``resource_factor``,
    U{1..10} units; capacity K = K_min + strength (K_max - K_min) with K_min the largest single demand
    and K_max the peak of the earliest-start schedule (resource strength, RS)."""
    rng = np.random.default_rng(seed)
    durations = rng.integers(1, 11, n)
    edges: set[tuple[int, int]] = set()
    for i in range(n - 1):
        for j in rng.choice(np.arange(i + 1, n), size=min(int(rng.integers(1, 4)), n - 1 - i), replace=False):
            edges.add((i, int(j)))
    for j in range(3, n):  # every later task has a predecessor
        if not any(b == j for _, b in edges):
            edges.add((int(rng.integers(0, j)), j))
    demand = np.where(rng.random((n, resources)) < resource_factor, rng.integers(1, 11, (n, resources)), 0)
    names = [f"R{k + 1}" for k in range(resources)]
    tasks = tuple(WorkflowTask(f"j{i + 1}", int(durations[i]),
                               {names[k]: int(demand[i, k]) for k in range(resources) if demand[i, k]})
                  for i in range(n))
    loose = WorkflowProblem(tasks, tuple((f"j{a + 1}", f"j{b + 1}") for a, b in sorted(edges)),
                            dict.fromkeys(names, 10**6))
    inst = _Instance(loose)
    finish = inst.earliest_finish()
    horizon = max(finish)
    capacities = {}
    for k, name in enumerate(names):
        peak = max(sum(int(demand[i, k]) for i in range(n) if finish[i] - durations[i] <= t < finish[i])
                   for t in range(horizon))
        low = int(demand[:, k].max())
        capacities[name] = max(low, round(low + strength * (peak - low)))
    return WorkflowProblem(tasks, loose.precedences, capacities, name=f"rcpsp{n}_{resources}_{seed}")
