"""EvoFlow: evolutionary search over permutations with the C++ engine.

>>> from mezan.evo import evolve, TSP
>>> result = evolve(TSP(D), time_limit=2.0, seed=0)

Built-in problems (:class:`QAP`, :class:`TSP`, :class:`LinearOrdering`) run entirely in C++; any
Python callable ``f(permutation) -> float`` works too (minimised, called in batches with the GIL
taken only to evaluate). EvoFlow optimises permutations only: for real vectors use a dedicated
library such as ``cma`` — MEZAN does not ship a continuous optimiser.
"""

from mezan.evo.evolve import CROSSOVERS, MUTATIONS, EvoResult, evolve
from mezan.evo.problems import QAP, TSP, LinearOrdering, PermutationProblem, native


def solver_entries() -> list[dict]:
    """The solvers this package offers the registry (:mod:`mezan.registry` registers them): ``evo.ga@<type>`` and
    ``evo.memetic@<type>`` for the built-in problems, ``evo.ga@permutation`` for a Python callable."""
    entries = []

    def runner(memetic: bool):
        def run(problem, *, time_limit, seed, stop=None, progress=None):
            problem = native(problem)  # a record of mezan.problems (QAPProblem, TSPProblem, ...) as EvoFlow's
            local_search = memetic
            if memetic and isinstance(problem, TSP) and not problem.core_objective().has_local_search:
                local_search = False  # 2-opt needs a symmetric D: on an asymmetric one the GA runs alone
            return evolve(problem, time_limit=time_limit, seed=seed, local_search=local_search or None,
                          stop=stop, progress=progress)

        return run

    for problem_type in ("qap", "tsp", "linear_ordering", "permutation"):
        entries.append({"name": f"evo.ga@{problem_type}", "problem_type": problem_type, "run": runner(False),
                        "description": "steady-state GA (OX, swap)"})
        if problem_type != "permutation":
            entries.append({"name": f"evo.memetic@{problem_type}", "problem_type": problem_type,
                            "run": runner(True), "description": "steady-state GA + the problem's built-in local "
                                                                "search (TSP: 2-opt when D is symmetric)"})
    return entries

__all__ = [
    "CROSSOVERS",
    "MUTATIONS",
    "QAP",
    "TSP",
    "EvoResult",
    "LinearOrdering",
    "PermutationProblem",
    "evolve",
    "native",
]
