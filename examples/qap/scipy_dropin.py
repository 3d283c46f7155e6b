"""``mezan.qap.quadratic_assignment`` as a drop-in for ``scipy.optimize.quadratic_assignment``.

Same call, same options, same result fields (``col_ind``, ``fun``, ``nit``): change the import and keep the
code. This script makes the same calls with both on a bundled instance and compares the objectives; MEZAN adds
methods scipy does not have (``rots``, its default, ``anneal``, ``local``).

Run: python examples/qap/scipy_dropin.py   (about a second)
"""

import numpy as np
from scipy.optimize import quadratic_assignment as scipy_qap

from mezan.qap import load
from mezan.qap import quadratic_assignment as mezan_qap

problem = load("tai12a")
A, B = problem.A, problem.B
print(f"{problem.name} (n = {len(A)}, best known {problem.best_known})\n")
print(f"{'method':<8} {'scipy fun':>10} {'mezan fun':>10} {'mezan nit':>10}")

for method in ("faq", "2opt"):
    # the very same call for both libraries (a fresh Generator each, so both start from the same random state)
    ours = mezan_qap(A, B, method=method, options={"rng": np.random.default_rng(0)})
    theirs = scipy_qap(A, B, method=method, options={"rng": np.random.default_rng(0)})
    print(f"{method:<8} {theirs.fun:>10.0f} {ours.fun:>10.0f} {ours.nit:>10}")

# MEZAN-only methods: robust tabu search (the default) and simulated annealing, capped by iterations
for method in ("rots", "anneal"):
    ours = mezan_qap(A, B, method=method, options={"rng": 0})
    print(f"{method:<8} {'-':>10} {ours.fun:>10.0f} {ours.nit:>10}")

res = mezan_qap(A, B)  # method="rots"
assert sorted(res.col_ind) == list(range(len(A)))  # col_ind[i]: the node of B matched to node i of A
print(f"\ncol_ind = {res.col_ind.tolist()}, fun = {res.fun}")
