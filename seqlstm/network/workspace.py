"""Reusable work arrays of a network, and the fixed split of a batch into sub-batches.

Large activations are not allocated and page-faulted again at every call: a
:class:`Workspace` keeps them between calls, keyed by what they hold (keys name the sub-batch,
so threads never share an array).  Work arrays are never returned to users.
"""

import numpy as np

from .._threads import work_units


class Workspace(dict):
    """Work arrays of one network, keyed by purpose; a dict whose values are either an array or
    ``(shapes, arrays)`` (one array per sub-batch).

    Parameters
    ----------
    dtype : numpy dtype
        Dtype of every work array.
    """

    def __init__(self, dtype):
        super().__init__()
        self.dtype = np.dtype(dtype)

    def buf(self, key, shape, zero=False):
        """A reusable work array for ``key``; ``zero``: filled with zeros at every call."""
        a = self.get(key)
        if a is None or a.shape != shape:
            a = self[key] = np.empty(shape, self.dtype)
        if zero:
            a.fill(0)
        return a

    def bufs(self, key, shapes, zero=False):
        """One reusable work array per sub-batch (``shapes``: one shape each), as a tuple; one
        dictionary lookup per tuple.  ``zero``: filled with zeros when allocated, for arrays the
        kernels only read (zero initial states)."""
        hit = self.get(key)
        if hit is None or hit[0] != shapes:
            arrays = tuple((np.zeros if zero else np.empty)(shape, self.dtype) for shape in shapes)
            hit = self[key] = (shapes, arrays)
        return hit[1]

    def no_slots(self, T):
        """``rec_slot`` recording no state, for ``T`` steps (read only by the kernels)."""
        a = self.get(("no_slots", T))
        if a is None:
            a = self["no_slots", T] = np.full(T + 1, -1, np.int64)
        return a

    def chunks(self, B):
        """Fixed split of a batch of ``B`` samples into sub-batches ``(b0, b1)`` (run
        concurrently by the kernels), set by ``B`` and the machine's core count, never by the
        thread count; cached per batch size."""
        hit = self.get("chunks")
        if hit is None or hit[0] != B:
            n = work_units(B, 8)
            hit = self["chunks"] = (B, tuple(((k * B) // n, ((k + 1) * B) // n)
                                             for k in range(n)))
        return hit[1]

    def drop(self, tag):
        """Forget the work arrays of calls tagged ``tag`` (e.g. the one-off ``"trace"``)."""
        for key in [k for k in self if k[1] == tag]:
            del self[key]


def split(a, chunks):
    """Contiguous per-sub-batch copies of ``a`` along its axis 1 (samples)."""
    return tuple(np.ascontiguousarray(a[:, b0:b1]) for b0, b1 in chunks)


def split_lengths(lengths, chunks):
    """Per-sub-batch views of the sequence lengths."""
    return tuple(lengths[b0:b1] for b0, b1 in chunks)


def sum_parts(parts):
    """Add per-sub-batch flat vectors in their fixed order (into the first)."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total
