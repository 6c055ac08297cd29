"""The credentials file: the API client's id and secret, readable only by its owner.

``hooksim serve`` writes it (first start, rotation, or when it no longer matches the database);
the CLI reads it to log in. Every write goes to a fresh temporary file created with ``O_EXCL`` and
mode 0600, then renamed over the target, so the secret is never world-readable, not even for a
moment, and a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

#: What a person types to rotate the client secret (the portal's dialog and the API agree).
ROTATE_CONFIRMATION = "ROTATE SECRET"

OWNER_ONLY = 0o600


class CredentialsFileError(Exception):
    """The credentials file cannot be read, written, or is not one hooksim wrote."""


@dataclass(frozen=True)
class FileCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    client_name: str = ""


def read_credentials(path: Path) -> FileCredentials:
    """The credentials in ``path``: FileNotFoundError if absent, CredentialsFileError if bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsFileError(f"cannot read credentials file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("clientId"), str)
            and isinstance(data.get("clientSecret"), str)):
        raise CredentialsFileError(
            f"{path} is not a hooksim credentials file (expected JSON with clientId and "
            "clientSecret); point auth.credentials_file elsewhere or remove it"
        )
    name = data.get("clientName")
    return FileCredentials(data["clientId"], data["clientSecret"],
                           name if isinstance(name, str) else "")


def write_credentials(path: Path, credentials: FileCredentials) -> None:
    """Replace ``path`` atomically with ``credentials``, owner read/write only."""
    text = json.dumps({"clientName": credentials.client_name, "clientId": credentials.client_id,
                       "clientSecret": credentials.client_secret}, indent=2) + "\n"
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     OWNER_ONLY)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                os.fchmod(fh.fileno(), OWNER_ONLY)  # exactly 0600 whatever the umask
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise CredentialsFileError(
            f"cannot write credentials file {path}: {exc.strerror}") from None


def restrict_to_owner(path: Path) -> bool:
    """Make ``path`` mode 0600 if group or others can access it; True if it had to be changed."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, OWNER_ONLY)
        return True
    return False
