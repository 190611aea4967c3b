"""Files only ventwatch's own user may read: the accounts and state SQLite file (password
hashes, session and API token digests, the rep's action log), the DuckDB store and the spool
(every reading, with room names).

Each is made 0600 as it is created, and each folder ventwatch creates for them 0700, whatever
the umask (usually 022, which would leave them readable by every user of the machine). A file
or folder that already exists keeps the mode its owner gave it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_private_folder(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700."""
    missing = []
    for path in (folder, *folder.parents):
        if path.is_dir():
            break
        missing.append(path)
    for path in reversed(missing):
        # Made meanwhile by another thread or process: theirs stands.
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=FOLDER_MODE)


def open_private(path: str, flags: int) -> int:
    """An `opener` for `open()`: a file it creates is 0600 from its first byte."""
    return os.open(path, flags, FILE_MODE)


def create_private_file(path: Path) -> bool:
    """Create `path` empty and 0600 in a private folder, unless it exists; True if created."""
    make_private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        return False
    return True
