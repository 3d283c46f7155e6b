"""Typed problem records shared by every layer (API, CLI, service, C2SC).

Each record validates its data at construction and raises :class:`mezan.errors.InvalidProblemError`
with a message naming the field; ``to_dict``/``from_dict`` give the JSON wire form and
``fingerprint()`` a stable sha256 of a canonical encoding (one implementation: :mod:`.fingerprint`).

One module per family — :mod:`.qap`, :mod:`.allocation`, :mod:`.network`, :mod:`.workflow`, :mod:`.robust`
(DualFlow), :mod:`.permutation` (TSP, linear ordering) —, the shared validators (:mod:`.values`) and the one
table of problem types (:mod:`.types`: record, default solver, reference fields, required wire fields, service
routes, size measure) with :func:`from_wire` / :func:`to_wire`.
"""

from mezan.problems.allocation import AllocationItem, AllocationProblem
from mezan.problems.fingerprint import Fingerprinted
from mezan.problems.network import NETWORK_TASKS, NetworkDesignProblem
from mezan.problems.permutation import LinearOrderingProblem, TSPProblem
from mezan.problems.qap import QAPProblem
from mezan.problems.robust import (
    MatrixGameProblem,
    RobustAllocationProblem,
    RobustAssignmentProblem,
    RobustQAPProblem,
)
from mezan.problems.types import (
    COMMON_OUTPUTS,
    LIBRARY_ONLY_TYPES,
    ROUTES,
    TYPES,
    ProblemType,
    from_wire,
    problem_size,
    sense_of,
    to_wire,
    types_on_route,
)
from mezan.problems.values import (
    MAX_LP_VALUE,
    MAX_OBJECTIVE_SCALE,
    as_matrix,
    check_magnitude,
    check_scale,
    max_abs,
    wire_form,
)
from mezan.problems.workflow import WorkflowProblem, WorkflowTask, find_cycle

__all__ = [
    "COMMON_OUTPUTS",
    "LIBRARY_ONLY_TYPES",
    "MAX_LP_VALUE",
    "MAX_OBJECTIVE_SCALE",
    "NETWORK_TASKS",
    "ROUTES",
    "TYPES",
    "AllocationItem",
    "AllocationProblem",
    "Fingerprinted",
    "LinearOrderingProblem",
    "MatrixGameProblem",
    "NetworkDesignProblem",
    "ProblemType",
    "QAPProblem",
    "RobustAllocationProblem",
    "RobustAssignmentProblem",
    "RobustQAPProblem",
    "TSPProblem",
    "WorkflowProblem",
    "WorkflowTask",
    "as_matrix",
    "check_magnitude",
    "check_scale",
    "find_cycle",
    "from_wire",
    "max_abs",
    "problem_size",
    "sense_of",
    "to_wire",
    "types_on_route",
    "wire_form",
]
