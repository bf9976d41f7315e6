"""CPU time spent by each process of the benchmark during one measured run (Linux /proc; NaN elsewhere).

Everything shares the same few cores, so CPU per request is the figure that
does not depend on who won the scheduler: it says what one request costs.
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
LOAD_GENERATOR = "load_generator"
REST = "rest_of_machine"


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes in process group `pgid`."""
    proc = Path("/proc")
    if not proc.is_dir():
        return math.nan
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ..., utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy_s() -> float:
    """Non-idle CPU seconds of the whole machine, all cores, since boot (Linux /proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return math.nan
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and of its reaped children (wrk runs as one)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def metered(groups: Mapping[str, int], action: Callable[[], T]) -> tuple[T, dict[str, float]]:
    """Run `action`; its result and the CPU seconds each named process group, the load generator and the rest
    of the machine (other processes, kernel work not charged to a process) used meanwhile."""
    before = {name: group_cpu_s(pgid) for name, pgid in groups.items()}
    before_own, before_machine = own_cpu_s(), machine_busy_s()
    result = action()
    used = {name: group_cpu_s(pgid) - before[name] for name, pgid in groups.items()}
    used[LOAD_GENERATOR] = own_cpu_s() - before_own
    used[REST] = machine_busy_s() - before_machine - sum(used.values())
    return result, used


def per_request_ms(used: Mapping[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds per request, by process group."""
    return {name: round(seconds * 1000 / requests, 3) if requests else math.nan for name, seconds in used.items()}
