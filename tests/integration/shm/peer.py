"""A front (owner) or worker process around a real slab, driven line by line over stdio.

owner: `python peer.py owner SEGMENT_SIZE`; reads commands from stdin:
  `worker`        start a worker process that maps the slab through a peer socket
  `put N BYTE`    allocate N bytes filled with BYTE, send the descriptor to the worker
  `free`          free every block
and prints `owner ...` lines; the worker's `worker ...` lines come out on the same stdout.
worker: `python peer.py worker FD`; reads descriptors (JSON) from stdin, prints the sum
of the bytes it sees; at end of input (its owner died) it reads them all again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import msgspec

from cog.shm import Descriptor, Slab, SlabMapping


def say(*parts: object) -> None:
    print(*parts, flush=True)


def owner(segment_size: int) -> None:
    slab = Slab(segment_size, segment_size=segment_size)
    worker: subprocess.Popen[str] | None = None
    blocks = []
    say("owner", os.getpid(), "ready")
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "worker":
            sock = slab.peer_socket()
            worker = subprocess.Popen(
                [sys.executable, __file__, "worker", str(sock.fileno())],
                pass_fds=[sock.fileno()],
                stdin=subprocess.PIPE,
                text=True,
            )
            sock.close()
            say("owner", "worker", worker.pid)
        elif cmd == "put":
            size, value = int(args[0]), int(args[1])
            block = slab.alloc(size)
            slab.buffer(block)[:] = bytes([value]) * size
            blocks.append(block)
            desc = slab.descriptor(block, "uint8", [size])
            if worker is not None and worker.poll() is None:
                assert worker.stdin is not None
                worker.stdin.write(msgspec.json.encode(desc).decode() + "\n")
                worker.stdin.flush()
            say("owner", "put", block.segment, block.offset, len(slab.segments), slab.used)
        elif cmd == "free":
            for block in blocks:
                slab.free(block)
            blocks.clear()
            say("owner", "free", slab.used)


def worker(fd: int) -> None:
    mapping = SlabMapping.from_fd(fd)
    seen: list[Descriptor] = []
    for line in sys.stdin:
        desc = msgspec.json.decode(line, type=Descriptor)
        seen.append(desc)
        say("worker", "sum", int(mapping.view(desc).sum(dtype="uint64")))
    # stdin closed: the owner is gone. The pages are still ours.
    total = sum(int(mapping.view(d).sum(dtype="uint64")) for d in seen)
    say("worker", "orphan", total, json.dumps(sorted(mapping.segments)))
    while True:
        time.sleep(60)


if __name__ == "__main__":
    role, arg = sys.argv[1], int(sys.argv[2])
    owner(arg) if role == "owner" else worker(arg)
