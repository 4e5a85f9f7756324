"""Big output buffers: own anonymous mmap, faulted in ahead of the writer, sized against free memory.

A multi-GiB buffer is written exactly once, and touching fresh memory, not decoding, is the
slowest part of loading a 1080p clip: every page must be faulted in and zeroed by the kernel
(and, on virtual machines that hand free memory back to their host, backed by the host again).
What helps, measured on the 2-CPU, 24 GiB VMs this was built on (faulting in 8.3 GiB, one
thread unless noted; benchmarks/decode_benchmark.py shows the effect on a whole decode):

* ``MADV_POPULATE_WRITE`` (Linux 5.14+) faults a range in without writing a byte, so helper
  threads can do it ahead of the writer, in parallel with decoding, on every CPU there is
  (4 KiB pages: 3.1-3.7 s with one thread, 1.4-2.3 s with two);
* NOT transparent huge pages, against the usual advice: there, a huge page costs about 5 ms to
  fault (20 s for 8.3 GiB, 11 s with two threads) unless it was freed moments before (then
  0.3-0.6 s). Their best case saves about a second; their common case, a result decoded
  minutes after the last big tensor was freed, costs ten times more. So the buffer is advised
  ``MADV_NOHUGEPAGE`` (numpy asks for huge pages on every big array; torch's allocator gets
  them or not by accident of alignment). ``RUNCOMFY_KLING3_HUGE_PAGES=1`` opts back in for
  machines where huge pages fault fast;
* pages past what is finally used are never touched, so reserving a few spare frames costs
  address space only, and unused tails can be handed back (``release_tail``).

Elsewhere than Linux the buffer is a plain ``np.zeros`` and nothing is prefaulted.

The array returned by :func:`allocate` keeps its ``mmap`` alive through ``ndarray.base`` (numpy
holds the exported buffer), and ``torch.from_numpy`` keeps the array alive, so the memory lives
exactly as long as the last tensor or view using it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import mmap
import os
import sys
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger("runcomfy_kling3")

_LINUX = sys.platform.startswith("linux")
HUGE_PAGE_BYTES = 2 * 1024 * 1024
#: Linux value (include/uapi/asm-generic/mman-common.h); Python's mmap module lacks the name
MADV_POPULATE_WRITE = 23
#: a populate step: small enough that the writer rarely waits on a helper's chunk
PREFAULT_CHUNK_BYTES = 8 * 1024 * 1024


HUGE_PAGES_ENV = "RUNCOMFY_KLING3_HUGE_PAGES"


def huge_pages_wanted() -> bool:
    return os.environ.get(HUGE_PAGES_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def allocate(shape: tuple[int, ...], dtype=np.float32, *, huge_pages: bool | None = None) -> np.ndarray:
    """A zero-filled, C-contiguous, writable array backed by its own private anonymous mmap.

    ``huge_pages`` (default: ``RUNCOMFY_KLING3_HUGE_PAGES``, off) asks for transparent huge
    pages; otherwise they are explicitly declined (see the module's notes).
    """
    dtype = np.dtype(dtype)
    if not _LINUX:
        return np.zeros(shape, dtype)  # calloc: pages still appear only when first written
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    huge_pages = huge_pages_wanted() if huge_pages is None else huge_pages
    # One extra huge page of address space lets the data start on a 2 MiB boundary even on
    # kernels that do not align large anonymous mappings themselves (costs no memory).
    length = _round_up(max(nbytes, 1), HUGE_PAGE_BYTES) + HUGE_PAGE_BYTES
    mapping = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                        prot=mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        mapping.madvise(mmap.MADV_HUGEPAGE if huge_pages else mmap.MADV_NOHUGEPAGE)
    except (AttributeError, OSError, ValueError):
        pass  # no THP support: plain pages either way
    address = _address_of(mapping)
    offset = (-address) % HUGE_PAGE_BYTES
    array = np.frombuffer(mapping, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape)


def _round_up(value: int, step: int) -> int:
    return (value + step - 1) // step * step


def _address_of(mapping: mmap.mmap) -> int:
    view = np.frombuffer(mapping, dtype=np.uint8, count=1)
    return int(view.ctypes.data)


def huge_pages_mode() -> str:
    """The kernel's THP setting ("always", "madvise" or "never"; "unknown" elsewhere)."""
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return "unknown"
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return "unknown"


# --- faulting in ahead of the writer -----------------------------------------------------------

def _libc_madvise():
    """libc's madvise through ctypes, which drops the GIL during the call (Python's own
    ``mmap.madvise`` holds it, so helper threads would stall the decoder)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = libc.madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


# MADV_POPULATE_WRITE and the THP advice are Linux's; other systems just fault on write
_madvise = _libc_madvise() if _LINUX else None


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Prefaulter:
    """Helper threads that fault in ``array[:length_bytes]`` front to back while a writer fills
    it. Faulting only maps zeroed pages, so it can never clobber data already written; if the
    kernel lacks ``MADV_POPULATE_WRITE`` the helpers just stop and the writer faults as usual.
    """

    def __init__(self, array: np.ndarray, nbytes: int | None = None, threads: int | None = None,
                 chunk_bytes: int = PREFAULT_CHUNK_BYTES):
        self._start = int(array.ctypes.data)
        self._end = self._start + min(array.nbytes, array.nbytes if nbytes is None else nbytes)
        self._chunk = max(HUGE_PAGE_BYTES, _round_up(chunk_bytes, HUGE_PAGE_BYTES))
        self._next = self._start
        self._lock = threading.Lock()
        self._stop = threading.Event()
        count = usable_cpus() if threads is None else threads
        self._threads = [threading.Thread(target=self._run, name=f"prefault-{k}", daemon=True)
                         for k in range(count if _madvise is not None else 0)]
        self.supported = _madvise is not None
        self.failure: str | None = None

    def __enter__(self) -> "Prefaulter":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def started(self) -> bool:
        return any(thread.ident is not None for thread in self._threads)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def _take(self) -> tuple[int, int] | None:
        with self._lock:
            if self._next >= self._end or self._stop.is_set():
                return None
            start = self._next
            self._next = min(self._end, start + self._chunk)
            return start, self._next - start

    def _run(self) -> None:
        while True:
            piece = self._take()
            if piece is None:
                return
            # page-aligned start is required by madvise; the writer covers any unaligned head
            start, length = piece
            aligned = start - start % mmap.PAGESIZE
            while _madvise(aligned, length + (start - aligned), MADV_POPULATE_WRITE) != 0:
                code = ctypes.get_errno()
                if code in (errno.EINTR, errno.EAGAIN) and not self._stop.is_set():
                    continue  # interrupted by a signal, or the kernel asks to try again
                # EINVAL: kernel before 5.14; anything else: leave faulting to the writer
                self.failure = errno.errorcode.get(code, str(code))
                self.supported = False
                self._stop.set()
                return


# --- how much memory there is ------------------------------------------------------------------

def available_memory_bytes() -> int:
    """Memory this process can still fill without swapping or being killed: the kernel's
    ``MemAvailable`` (swap deliberately not counted), lowered by a cgroup limit when one is
    set (containers, systemd slices); Windows' available physical memory; where neither can
    be read, a huge number (no check is better than a wrong refusal)."""
    if os.name == "nt":
        return _windows_available() or 1 << 62
    candidates = [_meminfo_available()]
    candidates.extend(_cgroup_room())
    known = [value for value in candidates if value is not None]
    return min(known) if known else 1 << 62


def _windows_available() -> int | None:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullAvailPhys)
    except (AttributeError, OSError):
        pass
    return None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reclaimable(stat_path: Path) -> int:
    try:
        for line in stat_path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name in ("inactive_file", "total_inactive_file"):
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_room() -> list[int]:
    """Room left under the cgroup memory limits of this process (v2, else v1)."""
    rooms: list[int] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return rooms
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, relative = parts
        if hierarchy == "0" and controllers == "":
            pairs = [("memory.max", "memory.current")]
            base = Path("/sys/fs/cgroup") / relative.lstrip("/")
            roots = [base, *base.parents]
        elif "memory" in controllers.split(","):
            pairs = [("memory.limit_in_bytes", "memory.usage_in_bytes")]
            roots = [Path("/sys/fs/cgroup/memory") / relative.lstrip("/"), Path("/sys/fs/cgroup/memory")]
        else:
            continue
        for root in roots:
            for limit_name, usage_name in pairs:
                try:
                    limit_text = (root / limit_name).read_text().strip()
                    usage = int((root / usage_name).read_text().strip())
                except (OSError, ValueError):
                    continue
                if limit_text == "max" or int(limit_text) >= 1 << 60:
                    continue
                # the usage counts page cache the kernel would drop for us
                rooms.append(max(0, int(limit_text) - usage + _reclaimable(root / "memory.stat")))
            if str(root) in ("/sys/fs/cgroup", "/sys/fs/cgroup/memory"):
                break
    return rooms


def release_tail(array: np.ndarray, used_bytes: int) -> None:
    """Give back the memory of ``array``'s bytes past ``used_bytes`` (whole pages only), e.g.
    frames that were faulted in for a file that then turned out shorter than its header."""
    if _madvise is None:
        return
    start = _round_up(int(array.ctypes.data) + used_bytes, mmap.PAGESIZE)
    end = int(array.ctypes.data) + array.nbytes
    end -= end % mmap.PAGESIZE
    if end > start:
        _madvise(start, end - start, mmap.MADV_DONTNEED)
