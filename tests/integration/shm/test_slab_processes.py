"""The slab across real processes: zero-copy views in a worker, and nothing left in /dev/shm
when either side is killed with SIGKILL."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cog.shm import SHM_DIR, Segment

PEER = Path(__file__).with_name("peer.py")
pytestmark = pytest.mark.skipif(not os.path.isdir(SHM_DIR), reason="needs /dev/shm")


class Owner:
    """A front process holding a slab, plus the worker it starts; both print to one pipe."""

    def __init__(self, segment_size: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PEER), "owner", str(segment_size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.pid = int(self.expect("owner")[1])
        self.worker_pid: int | None = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, *prefix: str, timeout: float = 60) -> list[str]:
        """The first unread line that starts with these words (the two roles interleave)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.seen):
                words = line.split()
                if words[: len(prefix)] == list(prefix):
                    del self.seen[i]
                    return words
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(
                    f"no line {prefix} within {timeout}s; got {self.seen}"
                ) from None

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def start_worker(self) -> int:
        self.send("worker")
        self.worker_pid = int(self.expect("owner", "worker")[2])
        return self.worker_pid

    def kill(self) -> None:
        for pid in (self.pid, self.worker_pid):
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.wait(timeout=30)


@pytest.fixture
def owners():
    started: list[Owner] = []

    def start(segment_size: int) -> Owner:
        started.append(Owner(segment_size))
        return started[-1]

    yield start
    for owner in started:
        owner.kill()


def names_of(pid: int) -> list[str]:
    return [n for n in os.listdir(SHM_DIR) if n.startswith(f"cog-slab-{pid}-")]


def deleted_mappings(pid: int, owner_pid: int) -> set[str]:
    with open(f"/proc/{pid}/maps") as maps:
        return {
            line.split()[-2]
            for line in maps
            if f"/dev/shm/cog-slab-{owner_pid}-" in line and line.rstrip().endswith("(deleted)")
        }


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)


def test_worker_sees_the_owners_bytes_and_outlives_it(owners):
    owner = owners(4 << 20)
    assert names_of(owner.pid) == []  # unlinked the moment it was created
    worker = owner.start_worker()
    owner.send("put 1000 7")
    owner.expect("owner", "put")
    assert owner.expect("worker", "sum") == ["worker", "sum", "7000"]
    # The worker maps the same pages; they have no name left to leak.
    assert len(deleted_mappings(worker, owner.pid)) == 1

    os.kill(owner.pid, signal.SIGKILL)
    # The worker's stdin closes with its owner; it reads the same pages again.
    assert owner.expect("worker", "orphan") == ["worker", "orphan", "7000", "[0]"]
    assert names_of(owner.pid) == []
    os.kill(worker, signal.SIGKILL)
    wait_gone(worker)
    assert names_of(owner.pid) == []


def test_owner_survives_a_killed_worker_and_keeps_growing(owners):
    owner = owners(1 << 20)
    worker = owner.start_worker()
    owner.send("put 1000 1")
    owner.expect("owner", "put")
    assert owner.expect("worker", "sum")[2] == "1000"
    os.kill(worker, signal.SIGKILL)
    wait_gone(worker)

    # A payload bigger than the pool adds a segment; announcing it to the dead worker is harmless.
    owner.send(f"put {3 << 20} 2")
    words = owner.expect("owner", "put")
    assert words[2] == "1" and words[4] == "2"  # block in segment 1; two segments now
    assert names_of(owner.pid) == []

    new_worker = owner.start_worker()  # gets both segments
    owner.send("put 10 3")
    assert owner.expect("worker", "sum")[2] == "30"
    assert len(deleted_mappings(new_worker, owner.pid)) == 2
    owner.send("free")
    assert owner.expect("owner", "free") == ["owner", "free", "0"]


def test_segment_added_later_reaches_the_worker_before_its_descriptor(owners):
    owner = owners(1 << 20)
    owner.start_worker()
    owner.send(f"put {2 << 20} 5")
    assert owner.expect("worker", "sum")[2] == str(5 * (2 << 20))


def test_named_region_is_gone_once_both_sides_have_mapped_it():
    """The client-region pattern: create with a name, the server maps it, the name is removed."""
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from cog.shm import Segment\n"
            "s = Segment.create(1 << 20, keep_name=True, prefix='cog-region')\n"
            "s.buf[:5] = b'hello'; print(s.name, flush=True)\n"
            "sys.stdin.readline(); s.unlink(); print('unlinked', flush=True); time.sleep(600)",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None and client.stdin is not None
        name = client.stdout.readline().strip()
        assert os.path.exists(os.path.join(SHM_DIR, name))
        server_side = Segment.open(name)
        client.stdin.write("registered\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "unlinked"
        assert not os.path.exists(os.path.join(SHM_DIR, name))
        client.kill()
        client.wait(timeout=30)
        assert server_side.buf is not None and server_side.buf[:5] == b"hello"
        server_side.close()
    finally:
        client.kill()
        client.wait(timeout=30)


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "", ".hidden", "x" * 300])
def test_region_names_are_confined_to_dev_shm(name):
    with pytest.raises(ValueError, match="is not allowed"):
        Segment.open(name)
