"""Starting real server processes on free loopback ports for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: list[str], env: Mapping[str, str]) -> str:
    """Run a command to completion in the project root; its output on failure."""
    done = subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def serving(args: list[str], env: Mapping[str, str], port: int, ready_path: str = "/healthz") -> Iterator[str]:
    """Start a server process, wait until `ready_path` answers, stop it afterwards."""
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a chatty server must never block on its log
        process = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(process, base + ready_path, log)
            yield base
        finally:
            stop(process)


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log: IO[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited early: {log.read().decode(errors='replace')[-4000:]}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready in {timeout_s} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def gunicorn(app: str, port: int, workers: int = 1, threads: int = 8) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--graceful-timeout",
        "2",
        app,
    ]
