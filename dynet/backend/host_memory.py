"""Keeps glibc from returning freed multi-MB NumPy buffers to the OS after every step.

By default glibc serves large allocations with mmap and unmaps them on free, so a training
step re-faults all of its big arrays each time (about 2,600 page faults per LeNet step at
batch 64, measured 9.4-10.8 ms vs 6.0-6.5 ms per step; see bench/NOTES.md). Raising the mmap
and trim thresholds lets freed buffers be reused, as PyTorch's caching allocators do. The
cost: a process keeps up to the trim threshold of freed heap instead of returning it.

Set DYNET_MALLOC_TUNING=0 before importing dynet to leave the allocator alone.
"""
import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 512 << 20

tuned = False


def tune_host_allocator():
    """Raises glibc's mmap/trim thresholds once; a no-op elsewhere or when disabled."""
    global tuned
    if tuned or os.environ.get("DYNET_MALLOC_TUNING", "1") == "0":
        return tuned
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # glibc only (musl has no mallopt thresholds)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    except (OSError, AttributeError):
        return False
    tuned = ok
    return tuned
