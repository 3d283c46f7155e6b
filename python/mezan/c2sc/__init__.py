"""C2SC — the Constraint-to-Solver Compiler: a composite request -> typed subproblems -> a dependency-
ordered plan -> results.

A request ``{"type": "composite", "subproblems": [{"type": ..., "id": ..., "depends_on": "<id>" | [ids],
...}, ...]}`` lists subproblems in their wire forms (:mod:`mezan.problems`). Any field value may be a
reference ``"$<id>.<path>"`` to a parent's result — ``$assignment.solution[3]``, ``$scheduling.makespan``,
``$scheduling.start.t1`` — resolved just before the dependent runs.

:func:`compile` validates every subproblem (fully when it has no references; its required fields when
it has, the rest after resolution), builds the dependency DAG, orders it topologically into stages of
mutually independent subproblems (run concurrently), and checks that every reference names a
dependency and a field its solver produces. :func:`run` executes a plan: a result per subproblem id
plus an aggregate status and time; when a parent fails (infeasible, error, no solution) its dependents
are not run and their status names the parent.
"""

from mezan.c2sc.plan import OUTPUTS, Plan, PlanError, compile, from_wire
from mezan.c2sc.run import CompositeResult, run

__all__ = ["OUTPUTS", "CompositeResult", "Plan", "PlanError", "compile", "from_wire", "run"]
