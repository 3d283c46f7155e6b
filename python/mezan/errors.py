"""Exception types raised by MEZAN. Every message names the argument and what is wrong with it."""


class MezanError(Exception):
    """Base class of every error MEZAN raises on purpose."""


class InvalidProblemError(MezanError, ValueError):
    """The problem data is malformed (shapes, values, sizes)."""


class InvalidParameterError(MezanError, ValueError):
    """A solver option has a wrong type or value (time_limit, method, threads, ...)."""


class PartialMatchError(InvalidParameterError):
    """partial_match (or P0 / partial_guess) is inconsistent: out of range, duplicated, or conflicting."""


class QAPLIBFormatError(InvalidProblemError):
    """A QAPLIB file is malformed; the message names the file and the line."""


class InstanceTooLargeError(InvalidProblemError, MemoryError):
    """The instance needs more memory than this machine has; the message gives the estimate."""


class StoppedError(MezanError):
    """Work with no partial result to return was stopped before it finished.

    Raised by work such as a study or an analysis when its ``stop`` was set or its request cancelled. A solver, which
    always has a best so far, does not raise it: it returns that best with status ``cancelled``.
    """


class SolverFailedError(MezanError, RuntimeError):
    """A solver run in an isolated worker process ended without an answer (it crashed or was killed)."""


def _hand_down_to_core() -> None:
    """Tell the compiled core which types its errors become (it never imports this higher layer):
    errors about the instance data are InvalidProblemError, errors about options and arguments
    InvalidParameterError. Called once, at import."""
    from mezan import _core

    _core._set_error_types(invalid_problem=InvalidProblemError, invalid_parameter=InvalidParameterError)


_hand_down_to_core()
