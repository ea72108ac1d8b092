"""The reports folder (``reconcile.inbox``): which files are ready, and claiming one for a run.

A file is claimed by renaming it into the archive folder before it is read: renaming is atomic, so
two workers never compare the same file, and a file is never compared twice. A file changed in the
last minute may still be being copied in; it waits for the next round.
"""

import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

SETTLE_SECONDS = 60
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload")


def ready_files(inbox: str, now: float | None = None) -> list[Path]:
    """Regular, visible files of the inbox not changed for a minute, oldest first."""
    folder = Path(inbox)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    found = []
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or entry.name.endswith(IGNORED_SUFFIXES):
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        modified = entry.stat(follow_symlinks=False).st_mtime
        if now - modified >= SETTLE_SECONDS:
            found.append((modified, entry.name, Path(entry.path)))
    return [path for _modified, _name, path in sorted(found)]


def claim(path: Path, archive: str) -> Path | None:
    """Move ``path`` into the archive under a dated name; None when another worker took it first."""
    folder = Path(archive)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}-{path.name}"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def release(claimed: Path, original: Path) -> None:
    """Put a claimed file back (its run could not be stored), for the next round."""
    with contextlib.suppress(OSError):
        os.rename(claimed, original)
