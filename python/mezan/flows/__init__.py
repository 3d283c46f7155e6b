"""The Libria suite beyond QAP: WorkFlow (:mod:`mezan.flows.workflow`, ``workflow.schedule``), AllocFlow
(:mod:`mezan.flows.allocation`, ``allocflow.highs``),
GraphFlow (:mod:`mezan.flows.graph`, ``graphflow.network``) and DualFlow (:mod:`mezan.flows.robust`:
``dualflow.robust_assignment``, ``dualflow.robust_qap``, ``dualflow.robust_allocation``,
``dualflow.matrix_game``)."""

from mezan.flows.allocation import AllocationResult, knapsack, solve_allocation
from mezan.flows.graph import NetworkResult, solve_network
from mezan.flows.robust import (
    GameResult,
    RobustResult,
    solve_matrix_game,
    solve_robust_allocation,
    solve_robust_assignment,
    solve_robust_qap,
)
from mezan.flows.workflow import WorkflowResult, solve_workflow


def _register() -> None:
    from mezan.meta.features import register_features
    from mezan.registry import register

    # MetaFlow records these solves too; a robust allocation maximises its worst case.
    register_features("robust_allocation", lambda problem: {"n": float(problem.n)}, ("n",), sense="max")

    register("allocflow.highs", "allocation", solve_allocation,
             "AllocFlow: LP / MILP allocation with budgets, groups and concave utilities (HiGHS)")
    register("workflow.schedule", "workflow", solve_workflow,
             "WorkFlow: RCPSP with agents — critical-path list scheduling + justification, then CP-SAT")
    register("graphflow.network", "network_design", solve_network,
             "GraphFlow: MST, Steiner tree (2-approximation), min-cost flow, fixed-charge design (networkx, HiGHS)")
    register("dualflow.robust_assignment", "robust_assignment", solve_robust_assignment,
             "DualFlow: min-max assignment over cost scenarios (HiGHS MILP)")
    register("dualflow.robust_allocation", "robust_allocation", solve_robust_allocation,
             "DualFlow: max-min allocation over value scenarios (HiGHS)")
    register("dualflow.robust_qap", "robust_qap", solve_robust_qap,
             "DualFlow: min-max QAP over flow/distance scenarios (EvoFlow GA on the worst case)")
    register("dualflow.matrix_game", "matrix_game", solve_matrix_game,
             "DualFlow: optimal mixed strategies of a zero-sum matrix game (two LPs)")


_register()

__all__ = ["AllocationResult", "GameResult", "NetworkResult", "RobustResult", "WorkflowResult", "knapsack",
           "solve_allocation", "solve_matrix_game", "solve_network", "solve_robust_allocation",
           "solve_robust_assignment", "solve_robust_qap", "solve_workflow"]
