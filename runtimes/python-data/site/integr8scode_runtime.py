"""Run once before every script of the data runtime (from integr8scode_runtime.pth, which the
sandbox entry's site.addsitedir processes): settings a data script expects to find.

- One thread for BLAS and OpenMP: a sandbox has a CPU limit and a process limit, and a pool
  of threads per core only costs memory there.
- matplotlib draws without a screen, through our backend (integr8scode_figures): plt.show()
  saves each figure as an image in the working directory, where the run's files are taken.
- Fontconfig (which matplotlib's text layout loads) reads our settings: the sandbox has no
  /etc/fonts.
- matplotlib's font list, built when the runtime was installed, is copied into a writable
  cache directory: matplotlib would otherwise rebuild it at every run (about a second).
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = "/tmp/.cache/matplotlib"


def _settle():
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_MAX_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    # Arrow's own allocator keeps a thread: the system's is counted the same and starts none.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    # ...and libarrow's jemalloc starts a purging thread when it loads, pool or not: a template
    # (one process forked for each run) must have no thread but its own.
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "background_thread:false")
    os.environ.setdefault("MPLBACKEND", "module://integr8scode_figures")
    os.environ.setdefault("FONTCONFIG_FILE", os.path.join(HERE, "integr8scode_fonts.conf"))
    if "MPLCONFIGDIR" in os.environ:
        return
    fonts = os.path.join(os.path.dirname(HERE), "matplotlib")
    try:
        os.makedirs(CACHE, exist_ok=True)
        for name in os.listdir(fonts):
            with open(os.path.join(fonts, name), "rb") as source, open(os.path.join(CACHE, name), "wb") as target:
                target.write(source.read())
    except OSError:
        return  # a full /tmp: matplotlib makes a cache of its own, more slowly
    os.environ["MPLCONFIGDIR"] = CACHE


_settle()
