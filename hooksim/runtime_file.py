"""``.hooksim/runtime.json``: where the server started from this folder is listening.

``hooksim serve`` writes it once its port is bound (the URL, its process id and its credentials
file) and removes it on a clean shutdown, so the CLI run from the same folder finds a server
started on any port, ``--port 0`` included. The file is owner-only (0600, in a 0700 folder):
it says where the API is and which credentials file opens it. A file left by a server that died
is ignored (its process is gone). Light on purpose: the CLI reads it on every API command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RUNTIME_FILE = Path(".hooksim") / "runtime.json"


def write_runtime(url: str, credentials_file: str | None, folder: Path | None = None) -> Path:
    """Write the runtime file under ``folder`` (default: the working folder); return its path."""
    path = (folder or Path.cwd()) / RUNTIME_FILE
    path.parent.mkdir(mode=0o700, exist_ok=True)
    record = {"url": url, "pid": os.getpid(),
              "credentialsFile": str(Path(credentials_file).resolve()) if credentials_file else None}
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)        # whatever the umask said
        json.dump(record, fh)
    os.replace(temporary, path)             # readers never see half a file
    return path


def remove_runtime(path: Path) -> None:
    """Remove the file if it is still this process's (another server may have replaced it)."""
    record = _read(path)
    if record is not None and record.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def read_runtime(folder: Path | None = None) -> dict[str, Any] | None:
    """The live server's record for ``folder``, or None (no file, unreadable, or its process
    is gone)."""
    record = _read((folder or Path.cwd()) / RUNTIME_FILE)
    if record is None or not isinstance(record.get("url"), str):
        return None
    pid = record.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        return None
    return record


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's process: it exists
        return True
    return True
