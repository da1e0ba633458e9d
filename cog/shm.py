"""Shared memory for large payloads: the front's slab, the worker's mapping of it, and
named regions that same-host clients register.

Lifetime is the whole design. A slab segment is a `/dev/shm` file that is unlinked the
moment it is opened: from then on it exists only as open file descriptors and mappings,
and the kernel frees it when the last process holding one exits, however it exits
(SIGKILL included). Nothing is ever left in `/dev/shm` to clean up, so no cleanup
process is needed. Workers get the descriptors, never a name, over a Unix socket
(SCM_RIGHTS) that the front hands them at start-up; a segment added later travels the
same way, before any descriptor that points into it.

A client region is the one named segment: the client creates it, the server maps it by
name when the client registers it, then the client unlinks the name (see
`cog.client.SharedRegion`), after which the same rule holds.

Pages are reserved with `posix_fallocate` (a full `/dev/shm` is an error at start-up,
not a SIGBUS later) and mapped with MAP_POPULATE in every process, because a first
touch of a fresh page costs about as much as copying it twice.
"""

from __future__ import annotations

import errno
import functools
import itertools
import mmap
import os
import re
import secrets
import socket
import struct
import threading
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import msgspec

from cog._native.select import native


# The compiled modules import numpy (~0.1 s): loaded at the first large input, not at start-up.
@functools.cache
def _slab() -> ModuleType:
    return native("slab")


@functools.cache
def _datauri() -> ModuleType:
    return native("datauri")


@functools.cache
def _npy() -> ModuleType:
    return native("npy")


SHM_DIR = "/dev/shm"
#: Default pool: enough for a few 64 MiB inputs in flight.
DEFAULT_POOL_SIZE = 256 << 20
#: Block alignment, and that of the copies made for unaligned views (numpy's own choice).
ALIGNMENT = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_ANNOUNCE = struct.Struct("<QQ")


class SlabFull(MemoryError):
    """The slab reached its maximum size; the caller should take the ordinary path."""


class Segment:
    """One shared-memory segment mapped into this process."""

    def __init__(self, fd: int, size: int, *, id: int = 0, name: str | None = None) -> None:
        self.id = id
        self.fd = fd
        self.size = size
        self.name = name
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        self.buf: mmap.mmap | None = mmap.mmap(fd, size, flags=flags)

    @classmethod
    def create(
        cls, size: int, *, id: int = 0, keep_name: bool = False, prefix: str = "cog-slab"
    ) -> Segment:
        """A new segment of `size` bytes, unlinked at once unless `keep_name` (client regions)."""
        if size <= 0:
            raise ValueError(f"a shared-memory segment needs a positive size, not {size}")
        name = f"{prefix}-{os.getpid()}-{secrets.token_hex(6)}"
        path = os.path.join(SHM_DIR, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            if not keep_name:
                os.unlink(path)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise SlabFull(
                        f"{SHM_DIR} has no room for a segment of {size} bytes; give the "
                        "container more shared memory (docker run --shm-size) or make "
                        "the slab smaller"
                    ) from None
                raise
            return cls(fd, size, id=id, name=name if keep_name else None)
        except BaseException:
            if keep_name:
                _unlink_quietly(path)
            os.close(fd)
            raise

    @classmethod
    def from_fd(cls, fd: int, *, id: int = 0) -> Segment:
        """Map a segment received as a file descriptor (the worker side); takes the fd."""
        return cls(fd, os.fstat(fd).st_size, id=id)

    @classmethod
    def open(cls, name: str, *, id: int = 0) -> Segment:
        """Map a named segment that a client created in /dev/shm (the server side)."""
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"shared-memory name {name!r} is not allowed: use letters, digits, '.', '_' "
                "and '-' (a name in /dev/shm, without a slash)"
            )
        fd = os.open(os.path.join(SHM_DIR, name), os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            return cls.from_fd(fd, id=id)
        except BaseException:
            os.close(fd)
            raise

    def unlink(self) -> None:
        """Remove the name (if any); the memory lives on while mapped anywhere."""
        if self.name is not None:
            _unlink_quietly(os.path.join(SHM_DIR, self.name))
            self.name = None

    def close(self) -> None:
        """Unmap and close. Arrays still viewing the pages keep the mapping alive until freed."""
        if self.buf is not None:
            try:
                self.buf.close()
            except BufferError:
                pass  # exported views remain; the mapping goes with the last of them
            self.buf = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Block(NamedTuple):
    """A byte range of the slab: segment id, offset, length."""

    segment: int
    offset: int
    length: int


class Descriptor(msgspec.Struct, array_like=True, frozen=True):
    """What an IPC header carries instead of the bytes: where they are and what they are.

    `dtype` None means raw bytes (a memoryview); `order` is "C" or "F" for arrays.
    """

    segment: int
    offset: int
    length: int
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    order: str = "C"


def _view(buf: Any, desc: Descriptor, readonly: bool) -> Any:
    """The descriptor's array over `buf` (shared pages), or an aligned copy of it.

    A view whose data numpy sees as unaligned (a second array of a msgpack body, a
    region range at an odd offset) would take numpy's slow unaligned loops, can give
    reductions that differ in the last bits from the same array at an aligned address,
    and is refused by some libraries: such an array is copied to a 64-byte aligned place.
    Aligned views (the usual case) are returned as they are, without a copy.
    """
    if desc.order not in ("C", "F"):
        raise _slab().SlabError(f"order must be 'C' or 'F', not {desc.order!r}")
    # A Fortran-order array is the transpose of the C-order array of the reversed shape.
    fortran = desc.order == "F" and desc.shape is not None
    shape = desc.shape[::-1] if fortran and desc.shape is not None else desc.shape
    array = _slab().array_view(buf, desc.offset, desc.length, desc.dtype, shape, readonly)
    if fortran:
        array = array.T
    if desc.dtype is None or array.flags.aligned:
        return array
    return _aligned_copy(array, "F" if desc.order == "F" else "C", readonly)


def _aligned_copy(array: Any, order: str, readonly: bool) -> Any:
    """A copy of `array` whose data starts at a 64-byte aligned address, in `order`."""
    import numpy as np

    raw = np.empty(array.nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    out = raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape, order=order)
    out[...] = array
    if readonly:
        out.flags.writeable = False
    return out


class Slab:
    """The front's pool of shared memory: segments, their allocators, and their peers.

    Thread-safe, so a large data URL can be decoded into it from an executor thread.
    """

    def __init__(
        self,
        size: int = DEFAULT_POOL_SIZE,
        *,
        segment_size: int | None = None,
        max_size: int | None = None,
        alignment: int = ALIGNMENT,
    ) -> None:
        self.segment_size = segment_size or size
        self.max_size = max_size if max_size is not None else 4 * size
        self.alignment = alignment
        self.segments: dict[int, Segment] = {}
        self._allocators: dict[int, Any] = {}
        self._peers: list[socket.socket] = []
        self._lock = threading.RLock()
        self._ids = itertools.count()
        while self.pooled < size:
            self._grow(min(self.segment_size, size - self.pooled))

    @property
    def capacity(self) -> int:
        return sum(s.size for s in self.segments.values())

    @property
    def used(self) -> int:
        return sum(a.used for a in self._allocators.values())

    @property
    def pooled(self) -> int:
        """Bytes in the segments this slab allocates from (attached regions excluded)."""
        return sum(self.segments[sid].size for sid in self._allocators)

    def _grow(self, size: int) -> Segment:
        size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
        if self.pooled + size > self.max_size:
            raise SlabFull(
                f"the slab would grow to {self.pooled + size} bytes, over its maximum of "
                f"{self.max_size}"
            )
        segment = Segment.create(size, id=next(self._ids))
        self.segments[segment.id] = segment
        self._allocators[segment.id] = _slab().SlabAllocator(size, self.alignment)
        for peer in list(self._peers):
            self._announce(peer, [segment])
        return segment

    def alloc(self, length: int) -> Block:
        """A range of `length` bytes; grows the slab by a segment when none has room."""
        with self._lock:
            for sid, allocator in self._allocators.items():
                offset = allocator.alloc(length)
                if offset >= 0:
                    return Block(sid, offset, length)
            segment = self._grow(max(self.segment_size, length))
            return Block(segment.id, self._allocators[segment.id].alloc(length), length)

    def free(self, block: Block) -> None:
        with self._lock:
            self._allocators[block.segment].free(block.offset)

    def shrink(self, block: Block, length: int) -> Block:
        """Give back the end of a block that was allocated for an upper bound."""
        with self._lock:
            self._allocators[block.segment].shrink(block.offset, length)
        return Block(block.segment, block.offset, length)

    def buffer(self, block: Block) -> memoryview:
        """The block's bytes, writable, in this process."""
        buf = self.segments[block.segment].buf
        assert buf is not None
        return memoryview(buf)[block.offset : block.offset + block.length]

    def view(self, desc: Descriptor, readonly: bool = False) -> Any:
        """The array (or memoryview) a descriptor names, in this process."""
        return _view(_segment_buf(self.segments, desc.segment), desc, readonly)

    def put(self, data: Any) -> Block:
        """Copy a bytes-like object into a new block."""
        src = memoryview(data).cast("B")
        block = self.alloc(src.nbytes)
        self.buffer(block)[:] = src
        return block

    def put_data_uri(self, uri: str | bytes) -> tuple[Any, Block]:
        """Decode a data URL straight into a new block: (header, block)."""
        header = _datauri().parse(uri)
        block = self.alloc(_datauri().decoded_size(uri, header))
        try:
            segment = self.segments[block.segment]
            n = _datauri().decode_into(uri, header, segment.buf, block.offset)
        except BaseException:
            self.free(block)
            raise
        if n != block.length:
            block = self.shrink(block, n)
        return header, block

    def npy_descriptor(self, block: Block) -> Descriptor:
        """The array inside a block that holds a whole .npy payload (header checked)."""
        dtype, shape, offset, fortran = _npy().parse_header(self.buffer(block))
        if dtype.fields is not None or dtype.subdtype is not None:
            raise _npy().NpyError(
                f"structured dtype {dtype} cannot be passed through shared memory: "
                "send plain numeric arrays"
            )
        return Descriptor(
            block.segment,
            block.offset + offset,
            block.length - offset,
            dtype.str,
            shape,
            "F" if fortran else "C",
        )

    def descriptor(
        self, block: Block, dtype: str | None = None, shape: Sequence[int] | None = None
    ) -> Descriptor:
        return Descriptor(
            block.segment,
            block.offset,
            block.length,
            dtype,
            tuple(shape) if shape is not None else None,
        )

    def attach(self, segment: Segment) -> int:
        """Share a segment mapped elsewhere (a client region) with every worker; its new id.

        The slab never allocates from it; `detach` forgets it.
        """
        with self._lock:
            segment.id = next(self._ids)
            self.segments[segment.id] = segment
            for peer in list(self._peers):
                self._announce(peer, [segment])
            return segment.id

    def detach(self, sid: int) -> Segment | None:
        """Stop sharing an attached segment: workers unmap it; the caller closes it here."""
        with self._lock:
            if sid in self._allocators:
                raise ValueError(f"segment {sid} belongs to the slab's pool, it cannot be detached")
            segment = self.segments.pop(sid, None)
            if segment is not None:
                for peer in list(self._peers):
                    self._send(peer, _ANNOUNCE.pack(sid, 0), [])
            return segment

    def add_peer(self, sock: socket.socket) -> None:
        """Send every segment to a worker now, and every later one when it is added."""
        with self._lock:
            if self._announce(sock, list(self.segments.values())):
                self._peers.append(sock)

    def remove_peer(self, sock: socket.socket) -> None:
        if sock in self._peers:
            self._peers.remove(sock)
        sock.close()

    def peer_socket(self) -> socket.socket:
        """A socket for a new worker (pass its fileno to the child); the front keeps the other end."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.add_peer(ours)
        return theirs

    def _announce(self, sock: socket.socket, segments: Iterable[Segment]) -> bool:
        for segment in segments:
            if not self._send(sock, _ANNOUNCE.pack(segment.id, segment.size), [segment.fd]):
                return False
        return True

    def _send(self, sock: socket.socket, message: bytes, fds: list[int]) -> bool:
        """One announcement (a segment and its fd) or retraction (size 0, no fd)."""
        try:
            socket.send_fds(sock, [message], fds)
        except OSError:
            # A worker that died: its end is gone, and so is its mapping.
            if sock in self._peers:
                self._peers.remove(sock)
            sock.close()
            return False
        return True

    def close(self) -> None:
        for sock in self._peers:
            sock.close()
        self._peers.clear()
        for segment in self.segments.values():
            segment.close()
        self.segments.clear()
        self._allocators.clear()


def _segment_buf(segments: dict[int, Segment], sid: int) -> Any:
    segment = segments.get(sid)
    if segment is None:
        raise _slab().SlabError(f"segment {sid} is not mapped in this process")
    return segment.buf


class SlabMapping:
    """The worker's side: the front's segments, received as file descriptors."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.segments: dict[int, Segment] = {}

    @classmethod
    def from_fd(cls, fd: int) -> SlabMapping:
        """The mapping at worker start-up: the segments already announced are mapped (and
        their pages populated) now, not on the first request."""
        mapping = cls(socket.socket(fileno=fd))
        mapping.receive()
        return mapping

    def receive(self, timeout: float | None = 0.0) -> int:
        """Map the segments announced so far; wait up to `timeout` for the first. Count mapped."""
        mapped = 0
        self.sock.settimeout(timeout)
        try:
            while True:
                msg, fds, _flags, _addr = socket.recv_fds(self.sock, _ANNOUNCE.size, 1)
                if not msg:
                    break  # the front is gone
                sid, _size = _ANNOUNCE.unpack(msg)
                if not fds:  # a retraction: the front detached this segment
                    gone = self.segments.pop(sid, None)
                    if gone is not None:
                        gone.close()
                    continue
                for fd in fds:
                    os.set_inheritable(fd, False)
                    self.segments[sid] = Segment.from_fd(fd, id=sid)
                    mapped += 1
                self.sock.settimeout(0.0)
        except (BlockingIOError, TimeoutError):
            pass
        finally:
            self.sock.settimeout(None)
        return mapped

    def view(self, desc: Descriptor, readonly: bool = False, timeout: float = 10.0) -> Any:
        """The array (or memoryview) a descriptor names, over this process's mapping.

        Announcements and retractions waiting on the socket are handled first, so a region
        the front has let go is unmapped here by the next input that comes this way.
        """
        self.receive(0.0)
        if desc.segment not in self.segments:
            # The front announces a segment before any descriptor into it, so it is on its way.
            self.receive(timeout)
        return _view(_segment_buf(self.segments, desc.segment), desc, readonly)

    def close(self) -> None:
        self.sock.close()
        for segment in self.segments.values():
            segment.close()
        self.segments.clear()
