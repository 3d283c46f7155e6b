"""mezan.isolated.run_isolated: values and exceptions come back, stop and the budget end a call that would run
on, a dead worker is an error and never reused, concurrent callers each get their own answer.

The functions run are stdlib ones (``operator``, ``math``, ``time``, ``os``): the worker is a fresh interpreter
that unpickles the function by reference, and this test module is not importable from it."""

import math
import operator
import os
import subprocess
import sys
import threading
import time

import pytest

from mezan import isolated
from mezan.errors import MezanError, SolverFailedError
from mezan.isolated import IsolatedRun, run_isolated


def set_after(seconds):
    event = threading.Event()
    timer = threading.Timer(seconds, event.set)
    timer.daemon = True
    timer.start()
    return event, timer


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_value_of_fn_comes_back():
    run = run_isolated(operator.add, 2, 3)
    assert isinstance(run, IsolatedRun) and run.value == 5 and run.stopped is None and run.wall_time >= 0
    assert run_isolated(math.factorial, 25).value == math.factorial(25)
    assert run_isolated(sorted, [3, 1, 2], reverse=True).value == [3, 2, 1]  # keyword arguments reach fn
    assert run_isolated(os.getpid).value != os.getpid()  # it really ran in another process


@pytest.mark.parametrize(("fn", "args", "kind", "message"), [
    (int, ("not a number",), ValueError, "invalid literal"),
    (operator.truediv, (1, 0), ZeroDivisionError, "division"),
    (operator.getitem, ({}, "missing"), KeyError, "missing"),
    (math.sqrt, ("four",), TypeError, "must be real number"),
])
def test_an_exception_of_fn_is_raised_with_its_type(fn, args, kind, message):
    with pytest.raises(kind, match=message) as info:
        run_isolated(fn, *args)
    assert not isinstance(info.value, SolverFailedError)
    assert run_isolated(operator.mul, 6, 7).value == 42  # a worker that raised is still usable


def test_stop_cancels_a_call_that_would_run_for_30_seconds():
    stop, timer = set_after(0.2)
    started = time.perf_counter()
    run = run_isolated(time.sleep, 30, stop=stop)
    wall = time.perf_counter() - started
    timer.cancel()
    assert run.stopped == "cancelled" and run.value is None
    assert wall < 3.0  # the 20 ms poll plus killing the worker; never the 30 s


def test_a_stop_set_before_the_call_returns_at_once_cancelled():
    stop = threading.Event()
    stop.set()
    started = time.perf_counter()
    run = run_isolated(time.sleep, 30, stop=stop)
    assert run.stopped == "cancelled" and run.value is None and time.perf_counter() - started < 3.0


def test_the_budget_plus_grace_ends_a_call_that_overruns_it():
    started = time.perf_counter()
    run = run_isolated(time.sleep, 30, time_limit=0.2, grace=0.3)
    wall = time.perf_counter() - started
    assert run.stopped == "time_limit" and run.value is None
    assert 0.5 <= wall < 4.0  # not before time_limit + grace, and not long after


def test_a_call_within_its_budget_is_not_stopped():
    run = run_isolated(time.sleep, 0.05, time_limit=5.0, grace=0.5)
    assert run.stopped is None and run.value is None


def test_a_worker_that_dies_raises_solver_failed_error():
    with pytest.raises(SolverFailedError, match="exit") as info:
        run_isolated(os._exit, 3)
    assert isinstance(info.value, MezanError)
    assert run_isolated(operator.add, 1, 1).value == 2  # the next call gets a working worker


def test_a_value_that_cannot_be_pickled_back_is_a_solver_failed_error():
    # threading.Lock() runs fine in the worker, but a lock never pickles
    with pytest.raises(SolverFailedError, match="could not be sent back"):
        run_isolated(threading.Lock)
    assert run_isolated(operator.sub, 5, 2).value == 3


def test_a_stopped_worker_is_not_reused():
    pid = run_isolated(os.getpid).value
    assert run_isolated(os.getpid).value == pid  # idle workers are reused ...
    stop, timer = set_after(0.2)
    # ... so the sleep runs in that same worker, which is killed when stop is set
    assert run_isolated(time.sleep, 30, stop=stop).stopped == "cancelled"
    timer.cancel()
    assert not alive(pid)
    after = run_isolated(os.getpid).value
    assert after != pid and alive(after)
    assert all(worker.alive() for worker in isolated._pool.idle)


def test_concurrent_calls_from_three_threads_each_get_their_own_value():
    results, errors = {}, []

    def call(k):
        try:
            results[k] = [run_isolated(operator.pow, k, e).value for e in range(1, 6)]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(k,)) for k in (2, 3, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert results == {k: [k**e for e in range(1, 6)] for k in (2, 3, 5)}
    assert len(isolated._pool.idle) <= isolated.MAX_IDLE_WORKERS


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def test_a_busy_worker_does_not_outlive_a_killed_caller():
    # The caller is SIGKILLed in the middle of a call: its worker (a session of its own, so no signal of the
    # caller's reaches it) notices that its parent is gone and ends itself instead of running on as an orphan.
    code = "import time; from mezan.isolated import run_isolated; run_isolated(time.sleep, 60)"
    caller = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        workers: list[int] = []
        while not workers and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = _children(caller.pid)
        assert workers, "the caller started no worker"
        assert os.getsid(workers[0]) != os.getsid(caller.pid), "the worker shares its caller's session"
    finally:
        caller.kill()
        caller.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{workers[0]}"):
        with open(f"/proc/{workers[0]}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":  # a zombie has ended
                break
        time.sleep(0.1)
    else:
        assert not os.path.exists(f"/proc/{workers[0]}"), "the orphaned worker still runs"
