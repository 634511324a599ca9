"""SIGINT/SIGTERM as a request to stop: the loop stops at its next safe point, a second signal at once.

A safe point is between two steps of an iteration: every step before it is either checkpointed or
redone identically on resume (randomness is derived from seed and iteration), so stopping there
loses nothing. A second signal raises :class:`CampaignInterrupted` wherever the main thread is; the
atomic checkpoint keeps that safe too, at the cost of redoing the step in flight.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_stop = threading.Event()
_received: list[int] = []
_leaving = threading.Event()  # a stop was raised in the main thread: the command is on its way out
_active: list[bool] = []  # non-empty inside stop_on_signals


class CampaignInterrupted(BaseException):
    """A campaign (or benchmark) stopped on a signal; its state is resumable.

    A BaseException, like KeyboardInterrupt: a benchmark records a campaign's ordinary failure as
    data and goes on, but a stop request must end the whole run.
    """

    def __init__(self, message: str, signum: int = signal.SIGTERM, advised: bool = False) -> None:
        super().__init__(message)
        self.signum = signum
        self.advised = advised  # the message says how to continue

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + int(self.signum)


def requested() -> int | None:
    """The signal that asked to stop, None if none did."""
    if not _stop.is_set():
        return None
    return _received[0] if _received else signal.SIGTERM


def request_stop(signum: int = signal.SIGTERM) -> None:
    """Ask every running campaign of this process to stop at its next safe point."""
    _received.append(signum)
    _stop.set()


def clear() -> None:
    _stop.clear()
    _received.clear()
    _leaving.clear()


def check(what: str = "campaign") -> None:
    """Raise :class:`CampaignInterrupted` if a stop was requested (called at safe points)."""
    signum = requested()
    if signum is not None:
        if threading.current_thread() is threading.main_thread():
            _leaving.set()
        raise CampaignInterrupted(f"{what} stopped by {signal.Signals(signum).name}", signum)


def _handler(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if _leaving.is_set():
        # The stop is under way (runs being ended as KILLED, a second at most): cut short, it
        # would leave them RUNNING and lose the line that says how to resume.
        _say_and_ignore(signum, frame)
        return
    if _stop.is_set():
        _leaving.set()
        raise CampaignInterrupted(f"stopped at once by a second {name}", signum)
    request_stop(signum)
    sys.stderr.write(f"\n{name}: stopping at the next safe point (again: at once)\n")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM request a stop while inside; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    clear()
    previous = {signum: signal.signal(signum, _handler) for signum in STOP_SIGNALS}
    _active.append(True)
    try:
        yield
    finally:
        _active.pop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        clear()


@contextmanager
def reclaimed() -> Iterator[None]:
    """Inside a flow: our handlers again, in place of the ones the orchestrator installed.

    Prefect's flow engine swaps SIGTERM for a handler that raises wherever the flow is (a checkpoint
    half-way, no MLflow run ended). Under :func:`stop_on_signals` (the CLI), the safe-point stop is
    wanted instead; elsewhere (a served deployment, a worker) the orchestrator's handler stays.
    """
    if not _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _say_and_ignore(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write(f"\n{signal.Signals(signum).name}: already stopping\n")


def ignore_further_signals() -> None:
    """From here to the process's end, SIGINT and SIGTERM are said and ignored: the command has
    stopped and is on its way out (with the default handlers back, a signal now would end it
    with -15 and the line that says how to resume already printed for nothing)."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, _say_and_ignore)


def _early_handler(signum: int, frame: FrameType | None) -> None:
    raise CampaignInterrupted(
        f"stopped by {signal.Signals(signum).name}; run the command again (a campaign whose "
        "--state-dir holds a config.yaml continues with: arcloop resume DIR)",
        signum,
    )


@contextmanager
def stopped_early() -> Iterator[None]:
    """From a command's first moment: SIGTERM ends it with one line (and status 143), not a silent
    death, until :func:`stop_on_signals` takes over. SIGINT keeps Python's own handler (Click says
    "Aborted!", asyncio's runners shut down cleanly on it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _early_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
