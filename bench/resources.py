"""Resident memory of each server process, and how long a server takes to start."""
from __future__ import annotations

import signal
import time
from typing import Dict

import psutil

from bench.progress import say
from deploy.cluster import Cluster, answers


def rss_mb(pid: int) -> float:
    """Resident memory of the process and all its children, in MB."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return round(total / 2**20, 1)


def memory(cluster: Cluster) -> Dict[str, float]:
    return {name: rss_mb(proc.pid) for name, proc in cluster.procs.items() if proc.poll() is None}


def startup_seconds(cluster: Cluster, name: str, timeout: float = 300) -> float:
    """Stops `name` and starts it again; seconds from launch until its health URL answers 200."""
    cluster.kill(name, signal.SIGTERM)
    url = cluster.health_url(name)
    began = time.perf_counter()
    proc = cluster.start_process(name)
    while not answers(url):
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} while starting")
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"{name} not healthy after {timeout} s")
        time.sleep(0.05)
    seconds = round(time.perf_counter() - began, 2)
    say(f"start-up: {name} healthy {seconds} s after launch")
    return seconds
