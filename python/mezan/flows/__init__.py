"""The Libria suite beyond QAP: WorkFlow (:mod:`mezan.flows.workflow`, ``workflow.schedule``), AllocFlow
(:mod:`mezan.flows.allocation`, ``allocflow.highs``),
GraphFlow (:mod:`mezan.flows.graph`, ``graphflow.network``) and DualFlow (:mod:`mezan.flows.robust`:
``dualflow.robust_assignment``, ``dualflow.robust_qap``, ``dualflow.robust_allocation``,
``dualflow.matrix_game``)."""

from mezan.extras import require

require("mezan.flows", "flows")  # before the imports that need them

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


def solver_entries() -> list[dict]:
    """The solvers this package offers the registry (:mod:`mezan.registry` registers them)."""
    return [
        {"name": "allocflow.highs", "problem_type": "allocation", "run": solve_allocation,
         "description": "AllocFlow: LP / MILP allocation with budgets, groups and concave utilities (HiGHS)"},
        {"name": "workflow.schedule", "problem_type": "workflow", "run": solve_workflow,
         "description": "WorkFlow: RCPSP with agents — critical-path list scheduling + justification, then CP-SAT"},
        {"name": "graphflow.network", "problem_type": "network_design", "run": solve_network,
         "description": "GraphFlow: MST, Steiner tree (2-approximation), min-cost flow, fixed-charge design "
                        "(networkx, HiGHS)"},
        {"name": "dualflow.robust_assignment", "problem_type": "robust_assignment", "run": solve_robust_assignment,
         "description": "DualFlow: min-max assignment over cost scenarios (HiGHS MILP)"},
        {"name": "dualflow.robust_allocation", "problem_type": "robust_allocation", "run": solve_robust_allocation,
         "description": "DualFlow: max-min allocation over value scenarios (HiGHS)"},
        {"name": "dualflow.robust_qap", "problem_type": "robust_qap", "run": solve_robust_qap,
         "description": "DualFlow: min-max QAP over flow/distance scenarios (EvoFlow GA on the worst case)"},
        {"name": "dualflow.matrix_game", "problem_type": "matrix_game", "run": solve_matrix_game,
         "description": "DualFlow: optimal mixed strategies of a zero-sum matrix game (two LPs)"},
    ]


__all__ = ["AllocationResult", "GameResult", "NetworkResult", "RobustResult", "WorkflowResult", "knapsack",
           "solve_allocation", "solve_matrix_game", "solve_network", "solve_robust_allocation",
           "solve_robust_assignment", "solve_robust_qap", "solve_workflow"]
