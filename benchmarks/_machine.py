"""The machine line the benchmarks write beside their figures."""

import os
import pathlib
import platform
import subprocess


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


def commit(sep=", "):
    """`sep` + "commit <short hash>" of the code measured (git's HEAD), or "" outside a git tree.

    Returns
    -------
    str
    """
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                             cwd=pathlib.Path(__file__).parent, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"{sep}commit {sha}"
