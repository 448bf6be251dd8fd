"""Lifecycle of the emulated RDS tasks: CREATED -> IN_PROGRESS -> SUCCESS | ERROR | CANCELLED, two at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from dbshift.estate.sqlserver.rds_store import RdsStore
from dbshift.estate.sqlserver.rds_tasks import TaskContext, TaskFailed, TaskRunner

STEP = 0.05


def _wait(store: RdsStore, task_id: int, lifecycle: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = store.task(task_id)
        if task and task.lifecycle == lifecycle:
            return
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} never reached {lifecycle}: {store.task(task_id)}")


def test_success_and_error(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    runner = TaskRunner(store, STEP)
    seen: list[str] = []

    def ok(ctx: TaskContext) -> str:
        seen.append(store.task(ctx.task_id).lifecycle)  # type: ignore[union-attr]
        ctx.progress(40)
        return "Write on S3 complete."

    def bad(ctx: TaskContext) -> str:
        raise TaskFailed("The specified bucket does not exist")

    a, b = store.new_task("BACKUP_DB", "x"), store.new_task("BACKUP_DB", "y")
    runner.submit(a.task_id, ok)
    runner.submit(b.task_id, bad)
    assert store.task(a.task_id).lifecycle == "CREATED"  # type: ignore[union-attr]
    _wait(store, a.task_id, "SUCCESS")
    _wait(store, b.task_id, "ERROR")
    runner.close()
    done = store.task(a.task_id)
    assert seen == ["IN_PROGRESS"] and done is not None and done.percent_complete == 100
    assert "Task execution has started." in done.task_info and done.task_info.endswith("Write on S3 complete.")
    assert store.task(b.task_id).task_info.endswith("The specified bucket does not exist")  # type: ignore[union-attr]


def test_at_most_two_run_and_cancel_of_queued_task(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    runner = TaskRunner(store, STEP)
    release = threading.Event()
    running = []

    def slow(ctx: TaskContext) -> str:
        running.append(ctx.task_id)
        release.wait(5)
        return "done"

    tasks = [store.new_task("BACKUP_DB", f"db{i}") for i in range(3)]
    for t in tasks:
        runner.submit(t.task_id, slow)
    time.sleep(STEP * 6)
    states = [store.task(t.task_id).lifecycle for t in tasks]  # type: ignore[union-attr]
    assert states.count("IN_PROGRESS") == 2 and states.count("CREATED") == 1
    queued = tasks[states.index("CREATED")]
    store.update_task(queued.task_id, lifecycle="CANCEL_REQUESTED")
    release.set()
    _wait(store, queued.task_id, "CANCELLED")
    for t in tasks:
        if t is not queued:
            _wait(store, t.task_id, "SUCCESS")
    runner.close()
    assert queued.task_id not in running


def test_cancel_while_running(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    runner = TaskRunner(store, STEP)

    def loop(ctx: TaskContext) -> str:
        for pct in range(100):
            ctx.progress(pct)
            time.sleep(0.01)
        return "finished"

    t = store.new_task("COPY", "x")
    runner.submit(t.task_id, loop)
    _wait(store, t.task_id, "IN_PROGRESS")
    store.update_task(t.task_id, lifecycle="CANCEL_REQUESTED")
    _wait(store, t.task_id, "CANCELLED")
    runner.close()
