"""The instance folder and the files Tessera keeps in it are readable by Tessera's own user only.

Contract: folders Tessera creates are 0700 and files 0600, from the moment they exist (created
with that mode, never chmod-ed after a window in which others could open them). The instance
folder holds the SQLite database (shoppers' events and profiles), the spool (events naming
shoppers), the published-state copy, the secret key and the recommender's training data: on a
shared machine none of it is anyone else's to read. `secure_instance` runs at every start and
tightens what an older version (or an operator's `cp`) left open, saying so once in the log.

Only modes are changed, never owners; a file Tessera cannot chmod (not its own) is named in the
warning and left alone. Stdlib only, so the settings and the spool can use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO  # any permission for the group or everyone else


def private_folder(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only; an existing folder is left as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        folder.chmod(FOLDER_MODE)  # mkdir's mode passes through the umask, which may remove owner bits


def private_file(path: Path) -> None:
    """Create `path` empty, readable by this user only, if it does not exist yet: SQLite then opens
    it as a new database (and gives its -wal and -shm files the same mode) instead of creating it
    under the process's umask."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def write_private_text(path: Path, text: str) -> None:
    """Write a new file (the secret key) that was never readable by anyone else, not even for a moment."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(FILE_MODE)  # an existing file keeps its old mode through O_TRUNC


def secure_instance(path: Path) -> list[Path]:
    """Create the instance folder private, or tighten it and everything in it that group or others
    may use; one warning names what was tightened. Returns what was changed (or could not be)."""
    private_folder(path)
    changed, refused = tighten(path)
    if changed or refused:
        log.warning("the instance folder %s was readable by others: made %d of its files and folders private "
                    "to this user (0700/0600)%s", path, len(changed),
                    f"; could not change {', '.join(map(str, refused))}" if refused else "")  # fmt: skip
    return changed + refused


def tighten(path: Path) -> tuple[list[Path], list[Path]]:
    """Take group's and others' permissions off `path` and everything under it: (changed, not ours to change).
    For what Tessera has just written under the umask (the demo's training data and model)."""
    changed: list[Path] = []
    refused: list[Path] = []
    if not path.exists():
        return changed, refused
    for entry in [path, *sorted(path.rglob("*"))]:
        if entry.is_symlink():  # its target is someone's choice elsewhere
            continue
        mode = entry.stat().st_mode
        if not mode & _OTHERS:
            continue
        try:
            entry.chmod(stat.S_IMODE(mode) & ~_OTHERS | (FOLDER_MODE if entry.is_dir() else FILE_MODE))
            changed.append(entry)
        except PermissionError:
            refused.append(entry)
    return changed, refused
