"""EvoFlow: evolutionary search over permutations with the C++ engine.

>>> from mezan.evo import evolve, TSP
>>> result = evolve(TSP(D), time_limit=2.0, seed=0)

Built-in problems (:class:`QAP`, :class:`TSP`, :class:`LinearOrdering`) run entirely in C++; any
Python callable ``f(permutation) -> float`` works too (minimised, called in batches with the GIL
taken only to evaluate). EvoFlow optimises permutations only: for real vectors use a dedicated
library such as ``cma`` — MEZAN does not ship a continuous optimiser.
"""

from mezan.evo.evolve import CROSSOVERS, MUTATIONS, EvoResult, evolve
from mezan.evo.problems import QAP, TSP, LinearOrdering, PermutationProblem


def _register() -> None:
    from mezan.registry import register

    def runner(memetic: bool):
        def run(problem, *, time_limit, seed, stop=None, progress=None):
            if not isinstance(problem, (QAP, TSP, LinearOrdering, PermutationProblem)):
                problem = QAP(problem.A, problem.B)  # a mezan.problems.QAPProblem
            return evolve(problem, time_limit=time_limit, seed=seed, local_search=memetic or None,
                          stop=stop, callback=progress)

        return run

    for problem_type in ("qap", "tsp", "linear_ordering", "permutation"):
        register(f"evo.ga@{problem_type}", problem_type, runner(False), "steady-state GA (OX, swap)")
        if problem_type != "permutation":
            register(f"evo.memetic@{problem_type}", problem_type, runner(True),
                     "steady-state GA + the problem's built-in local search")


_register()

__all__ = ["CROSSOVERS", "MUTATIONS", "EvoResult", "LinearOrdering", "PermutationProblem", "QAP", "TSP", "evolve"]
