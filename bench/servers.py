"""Processes for the benchmark: a seeded instance, gunicorn servers and the fake recommender.

Every process is started with `subprocess` on a free loopback port, in its own
session, and stopped in a `finally` block by its process id.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Threads per worker as gunicorn.conf.py chooses them: 4 with the in-process recommender (CPU-bound:
# more threads only hand the GIL around), 8 with one over HTTP (threads wait on it).
EMBEDDED_THREADS = 4
REMOTE_THREADS = 8
GUNICORN_BASE = ("--worker-class", "gthread", "--workers", "2")
GUNICORN_SETTINGS = (*GUNICORN_BASE, "--threads", str(REMOTE_THREADS))
# Variables that would switch Tessera away from its embedded defaults (SQLite, in-process recommender).
TESSERA_OVERRIDES = (
    "TESSERA_DATABASE_URL",
    "TESSERA_REDIS_URL",
    "TESSERA_RECOMMENDER_URL",
    "TESSERA_RECOMMENDER_MODEL",
)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def instance_env(instance: Path, **extra: str) -> dict[str, str]:
    """The environment for a Tessera process on `instance`, with embedded defaults unless `extra` says otherwise."""
    env = {k: v for k, v in os.environ.items() if k not in TESSERA_OVERRIDES}
    env["TESSERA_INSTANCE_PATH"] = str(instance)
    env.update(extra)
    return env


def seed_instance(instance: Path, shoppers: int) -> tuple[float, str]:
    """Migrate and seed a fresh instance; (seconds it took, the demo admin API token)."""
    env = instance_env(instance)
    started = time.monotonic()
    _run([sys.executable, "-m", "alembic", "upgrade", "head"], env)
    output = _run([sys.executable, "-m", "flask", "--app", "app", "demo", "seed", "--shoppers", str(shoppers)], env)
    elapsed = time.monotonic() - started
    found = re.search(r"(tsr_\S+)", output)
    if found is None:
        raise RuntimeError(f"the seed printed no admin token:\n{output}")
    return elapsed, found.group(1)


def _run(args: list[str], env: Mapping[str, str]) -> str:
    done = subprocess.run(args, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def gunicorn_command(app_spec: str, port: int, threads: int = REMOTE_THREADS) -> list[str]:
    """gunicorn with the settings every server in the benchmark uses (threads: see REMOTE_THREADS)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        *GUNICORN_BASE,
        "--threads",
        str(threads),
        "--no-control-socket",
        "--graceful-timeout",
        "3",
        app_spec,
    ]


def fake_recommender_command(port: int, catalog: Path, delay_ms: float) -> list[str]:
    """The fake recommender from the test support code, answering after `delay_ms`."""
    return [
        sys.executable,
        "-m",
        "tests.support.fake_recommender",
        "--port",
        str(port),
        "--catalog",
        str(catalog),
        "--delay-ms",
        str(delay_ms),
    ]


@dataclass(frozen=True)
class Server:
    """A running server: where it listens, and its process group (its own session)."""

    url: str
    port: int
    pgid: int


@contextmanager
def serving(args: list[str], env: Mapping[str, str], port: int, log: Path, ready_path: str) -> Iterator[Server]:
    """Run a server until the block ends; yields it once `ready_path` answers 200."""
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            args, cwd=ROOT, env=dict(env), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_ready(process, port, ready_path, log)
            yield Server(f"http://{HOST}:{port}", port, process.pid)
        finally:
            stop(process)


def _wait_ready(process: subprocess.Popen[bytes], port: int, path: str, log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early ({process.returncode}); log:\n{_tail(log)}")
        if _answers_200(port, path):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready in {timeout_s} s; log:\n{_tail(log)}")


def _answers_200(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's own group (it runs in its own session), SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
