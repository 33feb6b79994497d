"""The machine line the benchmarks write beside their figures."""

import os
import platform


def machine(load=True):
    """CPU model, core count and (with `load`) the 1-minute load average now.

    Returns
    -------
    str
    """
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{cpu}, {os.cpu_count()} cores"
    return f"{text}, load {os.getloadavg()[0]:.1f} at start" if load else text
