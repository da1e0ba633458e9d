"""Resident memory of a whole process tree (the front and every worker), from /proc."""

from __future__ import annotations

import os
import threading
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, found through /proc/<pid>/task/*/children."""
    found = [pid]
    i = 0
    while i < len(found):
        for task in Path(f"/proc/{found[i]}/task").glob("*"):
            try:
                found.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                pass  # the task ended while we looked
        i += 1
    return found


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and its descendants right now."""
    total = 0
    for p in descendants(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


class PeakRss:
    """Samples a process tree's total RSS every `interval` seconds in a thread; keeps the peak.

    Summed samples, not per-process high-water marks: the peak of the total is what a
    container's memory limit sees.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss(self.pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))
