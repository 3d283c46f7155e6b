"""Solve a bundled QAPLIB instance with QAPFlow and read the result's named fields.

Shows ``mezan.qap.load`` (the few QAPLIB instances shipped with the package, with their best-known values) and
``mezan.qap.solve``: the default ``mode="auto"`` proves nug12 optimal by branch and bound, and a robust tabu
search on nug20 stops at the known optimum thanks to ``target=``.

Run: python examples/qap/solve_qaplib.py   (a few seconds)
"""

from mezan.qap import load, shipped, solve

print("bundled instances:", ", ".join(shipped()))

# 1. A small instance: mode="auto" picks exact branch and bound for n <= 15 and proves the optimum.
problem = load("nug12")  # a QAPProblem record: A (flows), B (distances), name, best_known
res = solve(problem.A, problem.B, time_limit=2.0, seed=1)
print(f"\n{problem.name}: objective {res.objective}, status {res.status}, method {res.method}")
print(f"  why: {res.explanation}")
print(f"  permutation (facility i -> location p[i]): {res.permutation.tolist()}")

# 2. A larger one with one named algorithm; a problem record can be passed as A (then B is None), and
#    `target=` stops the search as soon as it reaches that objective (status "feasible", not "timeout").
problem = load("nug20")
res = solve(problem, None, method="rots", time_limit=2.0, seed=1, target=problem.best_known)

# Every result has the same named fields (mezan.results.Result: `gap` is relative to the lower bound);
# QAP adds permutation, method and bound_method.
fields = ["objective", "status", "lower_bound", "bound_method", "gap", "method", "seed", "iterations"]
print(f"\n{problem.name} with robust tabu search:")
for name in fields:
    print(f"  {name:<13} {getattr(res, name)}")
print(f"  {'wall_time':<13} {res.wall_time:.3f} s ({len(res.trace)} improvements on the anytime trace)")

# the gap to the best-known value (QAPLIB's optimum, in the problem record):
gap = (res.objective - problem.best_known) / problem.best_known
print(f"  best known    {problem.best_known} -> gap to the known optimum: {gap:.2%}")
