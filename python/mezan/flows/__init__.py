"""The Libria suite beyond QAP. So far: AllocFlow (:mod:`mezan.flows.allocation`), registered as
``allocflow.highs`` for problems of type "allocation"."""

from mezan.flows.allocation import AllocationResult, knapsack, solve_allocation


def _register() -> None:
    from mezan.registry import register

    register("allocflow.highs", "allocation", solve_allocation,
             "AllocFlow: LP / MILP allocation with budgets, groups and concave utilities (HiGHS)")


_register()

__all__ = ["AllocationResult", "knapsack", "solve_allocation"]
