"""The portfolio behind ``routing.planner.plan``: candidates, the VROOM child, the searches.

See the planner's docstring for what runs where and why.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool as BrokenExecutor
from dataclasses import replace
from typing import Any

from routing.engine_pyvrp import PyvrpModel
from routing.engine_vroom import solve_vroom, vroom_level
from routing.feasibility import check_plan
from routing.model import Plan, Problem, Unassigned
from routing.schedule import schedule_routes
from routing.tasks import Reduced, Sequences, Task

# In the portfolio: share of the budget VROOM gets before PyVRP starts from its plan.
# VROOM's level is chosen to finish within it (vroom_level).
_VROOM_SHARE = 0.35
# How long after the deadline the portfolio waits for the second thread before giving up
# on its result (both solvers stop on their own at the deadline).
_JOIN_GRACE_S = 0.2
# Least time past the deadline the portfolio waits for VROOM when it has no clean plan
# (an over-full day whose VROOM child is not yet started or overloaded); it waits up to
# the budget it gave VROOM's child beyond that.
_LATE_VROOM_WAIT_S = 0.2


NO_ROOM = (
    "no room left in an eligible courier's route (time windows, shift or capacity taken "
    "by other stops) within the time limit"
)


def _cost(problem: Problem, p: Plan) -> float:
    return p.distance if problem.objective == "distance" else p.duration


class Portfolio:
    """The candidate plans of one ``plan`` call, each re-timed and checked as it arrives."""

    def __init__(self, problem: Problem, red: Reduced, hopeless: list[Unassigned]) -> None:
        self.problem = problem
        self.red = red
        self.hopeless = hopeless
        self.lock = threading.Lock()
        self.best: Plan | None = None
        self.best_key: tuple[int, float] | None = None
        self.first: Plan | None = None
        self.trace: list[str] = []

    def offer(self, engine: str, seqs: Sequences, left: list[Task], label: str = "") -> None:
        label = label or engine
        full: dict[str, list[str]] = {}
        for v in self.red.vehicles:
            rest = seqs.get(v.index, [])
            if v.prefix or rest:
                full[v.vehicle.id] = v.prefix + rest
        unassigned = self.hopeless + [
            Unassigned(t.task_id, tuple(s.id for s in t.stops), NO_ROOM) for t in left
        ]
        candidate = schedule_routes(self.problem, full, engine=engine, unassigned=unassigned)
        violations = check_plan(self.problem, candidate)
        key = (len(candidate.unassigned), _cost(self.problem, candidate))
        with self.lock:
            if self.first is None:
                self.first = candidate
            if violations:
                first = violations[0]
                self.trace.append(f"{label}: rejected, {first.kind}: {first.detail}")
                return
            self.trace.append(f"{label}: {key[0]} unassigned, cost {key[1]:.2f}")
            # Strictly better only: on a tie the earlier candidate (PyVRP's) stays.
            if self.best_key is None or key < self.best_key:
                self.best, self.best_key = candidate, key


def run_guarded(portfolio: Portfolio, name: str, work: Callable[[], None]) -> None:
    """Run one solver; a failing solver costs its candidate, never the whole plan."""
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - any solver failure leaves the other's plan
        with portfolio.lock:
            portfolio.trace.append(f"{name}: failed, {type(exc).__name__}: {exc}")


_vroom_pool: ProcessPoolExecutor | None = None
_vroom_pool_lock = threading.Lock()


def _import_vroom() -> None:
    import vroom  # noqa: F401 - imported once in the child, not per plan


def _start_child(planner_pid: int) -> None:
    """In the VROOM child: import vroom, and end when the planning process is gone.

    Measured: a planning process killed with SIGTERM left its child (and the forkserver,
    which ends with it) behind indefinitely.
    """
    _import_vroom()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(planner_pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="planner-watch", daemon=True).start()


def _vroom_worker() -> ProcessPoolExecutor:
    global _vroom_pool
    with _vroom_pool_lock:
        if _vroom_pool is None:
            ctx = multiprocessing.get_context("forkserver")
            _vroom_pool = ProcessPoolExecutor(
                1, mp_context=ctx, initializer=_start_child, initargs=(os.getpid(),)
            )
        return _vroom_pool


def start_workers() -> None:
    """Start the VROOM child now (about half a second), not on the first plan.

    Optional: a first ``plan`` without it still returns in time, with PyVRP's plans only
    (the trace says VROOM did not answer). The child is a forkserver child, so, as for any
    such child, a script that plans must keep its top-level code under
    ``if __name__ == "__main__":`` (the child imports the main module; measured: a script
    without the guard failed with "An attempt has been made to start a new process
    before the current process has finished its bootstrapping phase").
    """
    _vroom_worker().submit(_import_vroom).result()


def _drop_vroom_worker(pool: ProcessPoolExecutor) -> None:
    """A broken child (killed, out of memory) is replaced for the next plan."""
    global _vroom_pool
    with _vroom_pool_lock:
        if _vroom_pool is pool:
            _vroom_pool = None
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _vroom_in_child(problem: Problem, red: Reduced, budget_s: float) -> tuple[Sequences, list[str]]:
    seqs, left = solve_vroom(problem, red, budget_s, vroom_level(red, budget_s), threads=1)
    return seqs, [t.task_id for t in left]


# Searches left running past a deadline (in PyVRP's uninterruptible start) are waited for
# at exit: a thread still inside PyVRP's C++ code when the interpreter ends aborts the
# process ("terminate called without an active exception").
_live_searches: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@atexit.register
def _wait_for_searches() -> None:
    for search in list(_live_searches):
        search.join(timeout=30)


def run_portfolio(
    problem: Problem, red: Reduced, portfolio: Portfolio, deadline: float, seed: int
) -> None:
    budget = max(0.02, _VROOM_SHARE * (deadline - time.perf_counter()))
    pool = _vroom_worker()
    # The default service times are a read-only mapping, which does not pickle.
    sendable = replace(problem, service_by_kind=dict(problem.service_by_kind))
    t_submit = time.perf_counter()
    vroom_job = pool.submit(_vroom_in_child, sendable, red, budget)
    task_of = {t.task_id: t for t in red.tasks}
    try:
        model = PyvrpModel.build(problem, red)
    except Exception as exc:  # noqa: BLE001 - PyVRP refusing the data leaves VROOM's plan
        with portfolio.lock:
            portfolio.trace.append(f"pyvrp: failed, {type(exc).__name__}: {exc}")
        try:
            seqs, left_ids = vroom_job.result(
                max(_LATE_VROOM_WAIT_S, deadline - time.perf_counter())
            )
            portfolio.offer("vroom", seqs, [task_of[i] for i in left_ids])
        except FutureTimeout:
            seqs, left = solve_vroom(problem, red, 0.05, exploration=1)
            portfolio.offer("vroom", seqs, left, label="vroom, late, in process")
        return

    # The best solution of the PyVRP run from scratch so far, to seed the second run.
    scratch_best: list[Any] = []

    vroom_offered = threading.Event()

    def take_vroom(wait_s: float) -> tuple[Sequences, list[str]] | None:
        """VROOM's plan (and what it left out) offered to the portfolio, if it answers
        within ``wait_s``."""
        try:
            seqs, left_ids = vroom_job.result(max(0.0, wait_s))
        except FutureTimeout:
            # VROOM stops on its own timeout soon after (its construction phase is not
            # timed); the child is kept, a new one would cost more than the wait.
            return None
        except BrokenExecutor:
            _drop_vroom_worker(pool)
            raise
        if not vroom_offered.is_set():
            vroom_offered.set()
            portfolio.offer("vroom", seqs, [task_of[i] for i in left_ids])
        return seqs, left_ids

    def vroom_then_seeded_pyvrp() -> None:
        # Wait for VROOM a little past its own budget (its construction phase may run
        # over), then run a second PyVRP search (another seed) from the better of VROOM's
        # plan and the first search's best so far: VROOM's when it is ahead, otherwise a
        # second search around the current best, or from scratch if there is neither.
        answer = take_vroom(min(deadline, t_submit + 1.5 * budget + 0.05) - time.perf_counter())
        if time.perf_counter() >= deadline:
            return
        if answer is not None and answer[1] and not scratch_best:
            # VROOM left stops out and PyVRP (every stop required) has no plan yet: likely
            # an over-full day. Improve VROOM's plan with PyVRP, stops optional at a price
            # above any cost of serving them, starting from VROOM's plan (a feasible start,
            # so the result never serves fewer).
            optional = PyvrpModel.build(problem, red, optional=True)
            got = optional.solve(deadline, seed + 1, initial=answer[0])
            if got is not None:
                portfolio.offer("pyvrp", *got, label="pyvrp, optional stops, from vroom")
            return
        # From empty rather than PyVRP's own start: that start (an exhaustive local search)
        # cannot be interrupted and may outlast the budget on a large day.
        start: Any = model.empty()
        label = "pyvrp, second seed, from empty"
        if answer is not None:
            start, label = model.solution_from(answer[0]), "pyvrp from vroom"
        if scratch_best and model.cost(scratch_best[-1]) < model.cost(start):
            start, label = scratch_best[-1], "pyvrp from pyvrp"
        got = model.solve(deadline, seed + 1, initial=start)
        if got is not None:
            # Named "pyvrp" like the other PyVRP run: it is PyVRP's plan (the trace tells).
            portfolio.offer("pyvrp", *got, label=label)

    def keep_best(best: Any) -> None:
        scratch_best[:] = [best]

    def pyvrp_from_scratch() -> None:
        got = model.solve(deadline, seed, on_best=keep_best)
        if got is not None:
            portfolio.offer("pyvrp", *got)

    # Both searches run in threads (PyVRP releases the GIL in its search) and this thread
    # only waits, so a search still in PyVRP's uninterruptible start at the deadline is
    # left behind (it stops at its first check of the deadline) instead of holding the
    # answer: measured 3.5 s for that start on the 300-stop Bắc Ninh day under load.
    searches = [
        threading.Thread(
            target=run_guarded,
            args=(portfolio, name, work),
            name=f"planner-{name}",
            daemon=True,
        )
        for name, work in (("pyvrp", pyvrp_from_scratch), ("vroom", vroom_then_seeded_pyvrp))
    ]
    for search in searches:
        _live_searches.add(search)
        search.start()
    for search in searches:
        search.join(max(0.0, deadline - time.perf_counter()) + _JOIN_GRACE_S)
        if search.is_alive():
            with portfolio.lock:
                portfolio.trace.append(f"{search.name} still running at the deadline: left")
    if not vroom_offered.is_set() and take_vroom(0.0) is None:
        with portfolio.lock:
            portfolio.trace.append("vroom: no answer by the deadline")
        if portfolio.best is None:
            # No clean plan at all (an over-full day, where PyVRP needing every stop finds
            # none): VROOM's, which leaves out what does not fit, is worth a wait past the
            # deadline (its child is already on it), and failing that one in this process.
            if take_vroom(max(_LATE_VROOM_WAIT_S, deadline - t_submit)) is None:
                seqs, left = solve_vroom(problem, red, 0.05, exploration=1)
                portfolio.offer("vroom", seqs, left, label="vroom, late, in process")
