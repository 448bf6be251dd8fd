"""Asynchronous tasks of the EMULATED Amazon RDS for SQL Server (what rds_task_status reports).

RDS runs each backup / certificate / log-copy request as a task: CREATED as soon as the procedure
returns, IN_PROGRESS once it starts, then SUCCESS, ERROR (task_info says why) or, after
rds_cancel_task, CANCEL_REQUESTED then CANCELLED. At most two tasks run at a time on an instance;
the others wait in CREATED. Each phase here lasts RdsConfig.task_step_seconds so that callers
really have to poll, as they do against RDS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from dbshift.estate.sqlserver.rds_store import RdsStore

MAX_CONCURRENT_TASKS = 2


class TaskFailed(Exception):
    """Ends a task in ERROR; the message goes into task_info as RDS words it."""


class TaskCancelled(Exception):
    """Raised inside a task's work when rds_cancel_task asked it to stop."""


class TaskContext:
    """What a task's work function may do: report progress and notice cancellation."""

    def __init__(self, runner: TaskRunner, task_id: int) -> None:
        self._runner = runner
        self.task_id = task_id

    def progress(self, percent: int, info_line: str | None = None) -> None:
        self.check_cancel()
        self._runner.store.update_task(self.task_id, percent_complete=int(percent), info_line=info_line)

    def check_cancel(self) -> None:
        task = self._runner.store.task(self.task_id)
        if task and task.lifecycle == "CANCEL_REQUESTED":
            raise TaskCancelled()
        if self._runner.stopping:
            raise _Stopping()


class _Stopping(Exception):
    """The emulator is closing: leave the task as it is; it restarts when the emulator starts again."""


Work = Callable[[TaskContext], str]


class TaskRunner:
    """One daemon thread per task; a semaphore keeps at most two IN_PROGRESS per instance."""

    def __init__(self, store: RdsStore, step_seconds: float) -> None:
        self.store = store
        self.step_seconds = step_seconds
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_TASKS)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def submit(self, task_id: int, work: Work) -> None:
        thread = threading.Thread(target=self._run, args=(task_id, work), name=f"rds-task-{task_id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _cancel_if_requested(self, task_id: int) -> bool:
        task = self.store.task(task_id)
        if task and task.lifecycle == "CANCEL_REQUESTED":
            self.store.update_task(task_id, lifecycle="CANCELLED", info_line="Task has been cancelled.")
            return True
        return False

    def _run(self, task_id: int, work: Work) -> None:
        if self._stop.wait(self.step_seconds) or self._cancel_if_requested(task_id):
            return
        while not self._slots.acquire(timeout=0.05):
            if self._stop.is_set() or self._cancel_if_requested(task_id):
                return
        try:
            if self._cancel_if_requested(task_id):
                return
            self.store.update_task(
                task_id, lifecycle="IN_PROGRESS", percent_complete=0, info_line="Task execution has started."
            )
            if self._stop.wait(self.step_seconds):
                return
            try:
                final_line = work(TaskContext(self, task_id))
            except _Stopping:
                return
            except TaskCancelled:
                self.store.update_task(task_id, lifecycle="CANCELLED", info_line="Task has been cancelled.")
                return
            except TaskFailed as exc:
                self.store.update_task(task_id, lifecycle="ERROR", info_line=str(exc))
                return
            except Exception as exc:  # an emulator bug must still end the task, never hang a poller
                self.store.update_task(
                    task_id, lifecycle="ERROR", info_line=f"Internal error in the RDS emulator: {exc!r}"
                )
                return
            if self._stop.wait(self.step_seconds):
                return
            self.store.update_task(task_id, lifecycle="SUCCESS", percent_complete=100, info_line=final_line)
        finally:
            self._slots.release()
