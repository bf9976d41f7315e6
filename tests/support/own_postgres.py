"""A PostgreSQL server of the test's own (its own data directory and port), to stop and start at will.

Outage tests cannot stop the machine's shared server; they start one from the installed
binaries (Debian's `postgresql` package: /usr/lib/postgresql/<version>/bin), stop it with
`immediate` (as a crash would), and start it again on the same port and data.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.processes import free_port


def postgres_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, if PostgreSQL's server is installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class OwnPostgres:
    def __init__(self, binaries: Path, directory: Path) -> None:
        self._bin = binaries
        self._data = directory / "data"
        self._log = directory / "server.log"
        self._sockets = directory / "sockets"
        self.port = free_port()
        # initdb refuses to run as root: there, the server runs as Debian's `postgres` user.
        self._user = "postgres" if os.geteuid() == 0 else None
        for path in (directory, self._sockets):
            path.mkdir(parents=True, exist_ok=True)
            if self._user:
                entry = pwd.getpwnam(self._user)
                os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run("initdb", "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        # fsync off: an immediate stop kills processes, not the machine, so what was committed is
        # in the operating system's cache and survives (synchronous_commit stays on: it would not).
        options = f"-p {self.port} -k {self._sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self._data), "-l", str(self._log), "-o", options, "-w", "-t", "120", "start")

    def stop(self) -> None:
        """Stop at once, as a crash would: connections die, nothing is flushed politely."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "-t", "120", "stop")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bin / tool), *args]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
        if done.returncode != 0:
            log = self._log.read_text() if self._log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log[-2000:]}")


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A started server in a fresh directory, removed afterwards. The directory is made directly
    under the system's temporary folder: pytest's own is private to its user, so the `postgres`
    user could not reach a data directory inside it."""
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL's server binaries are not installed (Debian: apt install postgresql)")
    directory = Path(tempfile.mkdtemp(prefix="tessera-pg-"))
    try:
        server = OwnPostgres(binaries, directory)
        server.init()
        server.start()
        try:
            yield server
        finally:
            with suppress(RuntimeError):  # already stopped by the test
                server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
