"""Jobs of the HTTP service in worker processes that can be stopped.

Rendering, validation, extraction and PDF conversion are CPU-bound and run Python code on untrusted input:
in a thread they would hold the interpreter lock (``/healthz`` and every other request stall behind a
hostile upload), and a thread cannot be stopped when its time limit passes. Each job therefore runs in one
of ``workers`` processes; when a job passes its time limit its process is killed (with its warm office) and
replaced, so the limit really stops the work.

:class:`WorkerPool` is asyncio-facing: :meth:`WorkerPool.slot` reserves a place (``workers`` running plus
``queue`` waiting; beyond that :class:`~docxreport.web.service.Overloaded` at once, before the request body
is read), :meth:`WorkerPool.run` runs a picklable function in a free worker. Each worker process calls
``initializer(*initargs)`` once; jobs find what it built through :func:`state`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .service import JobTimeout, Overloaded

T = TypeVar("T")

#: Seconds a new worker process may take to start (import, prepare the template) before it counts as broken.
START_TIMEOUT = 120.0
_STATE: dict[str, Any] = {}  # the worker process's own state (set by its initializer), never the server's


def state() -> dict[str, Any]:
    """In a worker process: what the initializer stored."""
    return _STATE


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a job (killed by the system, out of memory, a crash)."""


def _serve(connection: multiprocessing.connection.Connection, initializer: Callable[..., None] | None,
           initargs: tuple[Any, ...]) -> None:
    """A worker process: run jobs from ``connection`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle; it stops us
    if hasattr(signal, "pthread_sigmask"):  # blocked by the server while it started us: see _Worker.start
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if initializer is not None:
        initializer(*initargs)
    connection.send(("ready", None))
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            break
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except BaseException as exc:  # everything goes back to the server, which decides what to say
            answer = ("error", exc)
        try:
            connection.send(answer)
        except Exception:  # the exception (or result) did not pickle: send what it says
            text = "".join(traceback.format_exception(answer[1])) if answer[0] == "error" else "unpicklable result"
            connection.send(("crash", text))
    finisher = _STATE.get("close")
    if callable(finisher):
        finisher()


class _Worker:
    """One worker process, started on first use and after it was killed."""

    def __init__(self, context: Any, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
        self._context = context
        self._initializer = initializer
        self._initargs = initargs
        self._process: Any = None
        self._connection: multiprocessing.connection.Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the process if it is not running, and wait until it is ready (its initializer ran)."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            self.kill()
            mine, theirs = self._context.Pipe()
            process = self._context.Process(target=_serve, args=(theirs, self._initializer, self._initargs),
                                            name="docxreport-worker", daemon=True)
            # Ctrl-C reaches the whole process group: a worker still importing would print a KeyboardInterrupt
            # traceback. The process starts with SIGINT blocked (the mask survives exec) until it ignores it.
            blocked = hasattr(signal, "pthread_sigmask")
            if blocked:
                previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                process.start()
            finally:
                if blocked:
                    signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            theirs.close()
            self._process, self._connection = process, mine
            try:
                if not mine.poll(START_TIMEOUT) or mine.recv()[0] != "ready":
                    raise WorkerDied("工作进程未能启动")
            except (EOFError, OSError):
                self.kill()
                raise WorkerDied("工作进程未能启动") from None
            except WorkerDied:
                self.kill()
                raise

    def call(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        """Run one job in the started worker (in a thread of the server: this blocks until the worker
        answers or dies)."""
        if self._connection is None:
            raise WorkerDied("工作进程意外退出")
        try:
            self._connection.send((function, args))
            kind, value = self._connection.recv()
        except (EOFError, OSError):
            raise WorkerDied("工作进程意外退出") from None
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "crash":
            raise RuntimeError(value)
        raise value

    def kill(self) -> None:
        """Stop the process now (its warm office notices and goes down with it)."""
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if process is not None:
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        """End the process gently (it closes its office), or kill it when it does not end."""
        process, connection = self._process, self._connection
        if process is None:
            return
        if connection is not None:
            connection.close()  # end of input: the worker leaves its loop
        process.join(10)
        self._connection = None
        self.kill()


class WorkerPool:
    """``workers`` worker processes, ``queue`` more jobs waiting; see the module's description."""

    def __init__(self, workers: int, queue: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        self.capacity = workers + queue
        self._context = multiprocessing.get_context("spawn")  # never fork a server with threads and a loop
        self._workers = [_Worker(self._context, initializer, initargs) for _ in range(workers)]
        self._idle: asyncio.Queue[_Worker] | None = None
        self._threads = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="docxreport-job")
        self._slots = threading.BoundedSemaphore(self.capacity)

    def _queue(self) -> asyncio.Queue[_Worker]:
        if self._idle is None:  # made in the server's loop; last in, first out: the warmest worker first
            self._idle = asyncio.LifoQueue()
            for worker in reversed(self._workers):
                self._idle.put_nowait(worker)
        return self._idle

    async def start(self, count: int | None = None) -> None:
        """Start ``count`` worker processes (default: all) now, not at the first requests that need them."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._threads, w.start) for w in self._workers[:count]))

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place for one job; :class:`Overloaded` at once when every place is taken."""
        if not self._slots.acquire(blocking=False):
            raise Overloaded()
        try:
            yield
        finally:
            self._slots.release()

    async def run(self, function: Callable[..., T], *args: Any, timeout: float) -> T:
        """Run ``function(*args)`` in a worker within ``timeout`` seconds (waiting for a free worker
        included) and return its result; its exception propagates. Past the limit the worker is killed
        (:class:`JobTimeout`). Call it while holding a :meth:`slot`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle = self._queue()
        try:
            worker = await asyncio.wait_for(idle.get(), timeout)
        except asyncio.TimeoutError:
            raise JobTimeout() from None
        try:
            starting = loop.time()
            await loop.run_in_executor(self._threads, worker.start)
            deadline += loop.time() - starting  # (re)starting a worker is not this job's time
            future = loop.run_in_executor(self._threads, worker.call, function, args)
            try:
                return await asyncio.wait_for(asyncio.shield(future), max(deadline - loop.time(), 0.001))
            except BaseException as exc:  # the time limit, or the request was cancelled: stop the work
                if not future.done():
                    worker.kill()
                    with contextlib.suppress(BaseException):
                        await future
                if isinstance(exc, asyncio.TimeoutError):
                    raise JobTimeout() from None
                raise
        finally:
            idle.put_nowait(worker)

    def close(self) -> None:
        """Stop every worker process."""
        for worker in self._workers:
            worker.stop()
        self._threads.shutdown(wait=False, cancel_futures=True)
