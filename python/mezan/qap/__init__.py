"""QAPFlow foundation: solve the quadratic assignment problem with the C++ core.

>>> from mezan.qap import solve, load
>>> result = solve(load("nug12"), None, time_limit=1.0, seed=0)
"""

from mezan.qap import generate
from mezan.qap.best_known import best_known
from mezan.qap.instances import load, shipped
from mezan.qap.io import read_qaplib, read_solution, write_qaplib
from mezan.qap.result import QAPResult
from mezan.qap.scipy_compat import OptimizeResult, quadratic_assignment
from mezan.qap.solve import METHODS, MODES, best_lower_bound, gilmore_lawler_bound, objective, projection_bound, solve

# the configuration a registered QAP solver takes (``options=``): an iteration cap per thread, threads, a target
OPTIONS = ("max_iter", "threads", "target")


def solver_entries() -> list[dict]:
    """The solvers this package offers the registry (:mod:`mezan.registry` registers them; this layer does not
    import it): every single algorithm as ``qap.<method>`` and every QAPFlow mode as ``qapflow.<mode>``."""
    entries = []

    def runner(**choice):
        def run(problem, *, time_limit, seed, stop=None, progress=None, advisor=None, initial=None, **options):
            return solve(problem, None, time_limit=time_limit, seed=seed, stop=stop, progress=progress,
                         advisor=advisor, initial=initial, **options, **choice)

        return run

    for method, text in (("rots", "robust tabu search"), ("anneal", "simulated annealing"),
                         ("local", "multi-start best-improvement 2-exchange"),
                         ("local_first", "one first-improvement 2-exchange descent"),
                         ("faq", "Frank–Wolfe relaxation (FAQ) with restarts"),
                         ("bnb", "exact branch and bound with Gilmore–Lawler bounds"),
                         ("memetic", "memetic: RoTS-improved population + EvoFlow crossovers"),
                         ("iterated", "iterated RoTS with perturbations"),
                         ("hybrid", "FAQ relaxation, then RoTS polish"),
                         ("nesterov", "Nesterov entropic projected gradient on the relaxation, then RoTS"),
                         ("fft", "FAQ relaxation with FFT products for structured matrices, then RoTS"),
                         ("breakout", "breakout local search (adaptive jumps, directed/recency/random perturbation)"),
                         ("balance", "relaxation and breakout in controlled slices, exchanging solutions"),
                         ("portfolio", "breakout, RoTS and the relaxation (or one member per thread)")):
        entries.append({"name": f"qap.{method}", "problem_type": "qap", "run": runner(method=method),
                        "description": text, "takes_initial": True, "options": OPTIONS})
    for mode, text in (("hybrid", "QAPFlow hybrid: FAQ relaxation, then RoTS polish"),
                       ("nesterov", "QAPFlow nesterov: accelerated entropic relaxation, then RoTS polish"),
                       ("fft", "QAPFlow fft: relaxation with FFT products on structured matrices, then RoTS"),
                       ("enhanced", "QAPFlow enhanced: memetic algorithm"),
                       ("balance", "QAPFlow balance: relaxation and breakout sides exchanging, a bandit between"),
                       ("portfolio", "QAPFlow portfolio: complementary solvers sharing the incumbent"),
                       ("aggressive", "QAPFlow aggressive: iterated RoTS on all threads"),
                       ("islands", "QAPFlow islands: auto (dense rule off) per executor thread, migrating"),
                       ("instance_adaptive", "QAPFlow instance_adaptive: rule set on instance features"),
                       ("auto", "QAPFlow auto: exact for n <= 15, else by size, budget and density")):
        entries.append({"name": f"qapflow.{mode}", "problem_type": "qap", "run": runner(mode=mode), "description": text,
                        "takes_advisor": mode in ("auto", "instance_adaptive", "portfolio"), "takes_initial": True,
                        "options": OPTIONS})
    return entries

__all__ = [
    "METHODS",
    "MODES",
    "OptimizeResult",
    "QAPResult",
    "best_known",
    "best_lower_bound",
    "generate",
    "gilmore_lawler_bound",
    "load",
    "objective",
    "projection_bound",
    "quadratic_assignment",
    "read_qaplib",
    "read_solution",
    "shipped",
    "solve",
    "write_qaplib",
]
