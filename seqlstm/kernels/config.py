"""The kernels' tunables: sizes measured on one machine, in one place.

Each value below was chosen by timing the alternatives on the development machine (a 2-core
AVX-512 Xeon, OpenBLAS as shipped with NumPy; see ``benchmarks/RESULTS.md`` and the commits named
below); another CPU or BLAS may prefer other values.

How they are read
-----------------
- ``SMALL_PRODUCT`` and ``PRODUCT_BLOCK`` are **compile-time constants** of the kernels in
  :mod:`seqlstm.kernels.recurrent`: Numba freezes module globals into the compiled code, and its
  on-disk cache is keyed on the source file of the kernel, not on this file (numba#1833).  Passing
  them as arguments instead would add two arguments to every entry point for no gain at run time
  (the block loop bounds would no longer be constants), so they stay globals.  **After changing
  either, clear the cache**, or the old values stay compiled in::

      find "$(python -c 'import seqlstm, os; print(os.path.dirname(seqlstm.__file__))')" \\
          \\( -name '*.nbi' -o -name '*.nbc' \\) -delete

  (or point ``NUMBA_CACHE_DIR`` at an empty directory).  The next first call recompiles
  (about 20 s per cell type and dtype).
- ``PROJECTION_STEPS`` is read by the network (:mod:`seqlstm.network.stack`) when it sizes the
  inference buffer; the kernels take the block length from that buffer's shape, so a new value
  takes effect at the next import, with no recompilation.

How to re-tune
--------------
Edit the value here (the installed package is editable with ``pip install -e .``), clear the
cache as above for the first two, and compare side by side, on the configurations you care
about::

    python benchmarks/bench_engine.py --configs A B --no-write      # before and after
    python -m pytest tests/test_network.py -q                       # results unchanged

``tests/test_network.py`` picks hidden sizes on either side of ``SMALL_PRODUCT`` and above
``PRODUCT_BLOCK`` from the values here (it asserts that they do); with very different values,
adjust its ``PRODUCT_FORMS`` so that both product forms stay covered.
"""

#: Largest per-step recurrent product (multiply-adds, ``B * H * G`` for a sub-batch of ``B``
#: samples) computed in the no-transpose form ``(B, K) @ (K, N)`` with both operands
#: C-contiguous.  OpenBLAS has small-matrix kernels for that form that skip packing: at
#: (16, 32) @ (32, 128) it took 0.8 us against 2.1 us for the transposed form ``h @ W_hh.T``;
#: from about 2^20 multiply-adds on, the transposed form was as fast or faster (8% at
#: (64, 256) @ (256, 1024)).  Commit ba1c1cd.  Compile-time constant.
SMALL_PRODUCT = 1 << 20

#: Inference (no backward pass, so no stored activations) projects the input of this many steps
#: at a time into a small buffer, just before the recurrence reaches them, so that the gate
#: loops read it from cache and memory stays O(PROJECTION_STEPS) instead of O(T): one product
#: over all steps wrote and re-read 3.2 MB per sub-batch at (T, B, G) = (100, 32, 256) and took
#: 296 us, against 124 us in blocks of 8 steps (at (365, 64, 1024): 21 ms against 15 ms).
#: Training keeps one product over all steps, into the activations the backward pass reads
#: (blocks were 3% faster at benchmark config B only).  Commits 9ad0881, 04db105.  Read by the
#: network at run time.
#:
#: It is 1, one step at a time: every step's input projection is then a product of the
#: sub-batch's rows, whatever the length of the call, so a record predicted in pieces with the
#: carried state gives the same bits as predicted whole.  With blocks of 8 steps a step's rows
#: shared a product with a varying number of other steps' rows, and OpenBLAS computes a row in
#: another order depending on the product's row count and the row's place in it (its Haswell
#: sgemm kernel, used on AVX2 CPUs, sums full 8-row blocks and the leftover rows differently):
#: the pieces differed from the whole in the last bits on AVX2 machines, and with 32 hidden
#: units also with AVX-512.  Blocks of 1 and of 8 steps took the same time within the noise on
#: benchmark configs A, B and C (inference, float32, one thread, loaded 2-core AVX-512 EPYC:
#: minima 1.01x, 0.92x, 0.99x).  Keep it at 1 unless that guarantee is given up.
PROJECTION_STEPS = 1

#: Block size (gate columns) of the small per-step products.  OpenBLAS's small-matrix kernels
#: ran faster on blocks of 128 gates than on the whole width: forward, (32, 64) @ (64, 256) took
#: 7.5 us as two column blocks of W_hh^T held contiguously against 9.5 us whole, (64, 64) @
#: (64, 256) 14.6 against 21.0; backward, (32, 256) @ (256, 64) 7.0 us as two blocks of rows of
#: W_hh accumulated by BLAS against 8.7 us whole; benchmark config B's inference ratio went
#: from 1.47 to 1.65.  At (16, 32) @ (32, 128) one block is the whole.  Commit f711079.
#: Compile-time constant.
PRODUCT_BLOCK = 128
