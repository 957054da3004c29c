"""The error hierarchy. The CLI turns any FactoryError into one red line and exit code 1."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class FactoryError(Exception):
    """Something the user can fix; the message says what and how."""


class WorkspaceNotFound(FactoryError):
    pass


class StoreError(FactoryError):
    pass


class RevisionConflict(StoreError):
    """A sample changed since the caller read it; nothing was written."""

    def __init__(self, sample_id: str, expected: int, actual: int):
        self.sample_id, self.expected, self.actual = sample_id, expected, actual
        super().__init__(
            f"sample {sample_id} changed since you read it (revision {expected}, now {actual}); "
            "reload it and apply your change again"
        )


class JobLocked(FactoryError):
    pass


class VersionError(FactoryError):
    pass


class BadInput(FactoryError):
    """A file, row or field that cannot be read; the message names it."""


class StoreLocked(StoreError):
    """Another process kept the store's write lock past the busy timeout."""


class StoreReadOnly(StoreError):
    """The store cannot be written here: a read-only file, folder or disk."""


class DiskFull(FactoryError):
    pass


class FileAccessError(FactoryError):
    """A file the command needs is missing, a folder, or not permitted to this user."""


# What the machine says (SQLite's and the OS's error codes) as what the user can do about it. The
# codes, not the messages: SQLite and the OS word them differently across versions and locales.
_SQLITE_ERRORS: dict[int, tuple[type[StoreError], str]] = {
    sqlite3.SQLITE_BUSY: (StoreLocked, "another process holds the store{holder}; try again when it ends "
                                       "(FACTORY_BUSY_TIMEOUT_S waits longer than the default 30 s)"),
    sqlite3.SQLITE_LOCKED: (StoreLocked, "another process holds the store{holder}; try again when it ends"),
    sqlite3.SQLITE_READONLY: (StoreReadOnly, "the store is read-only here (a read-only file, folder or disk); "
                                             "this command writes to it, so nothing was done"),
    sqlite3.SQLITE_CANTOPEN: (StoreError, "cannot open the store; check that you may read and write it and "
                                          "its folder"),
    sqlite3.SQLITE_PERM: (StoreError, "the store cannot be opened: permission denied"),
    sqlite3.SQLITE_CORRUPT: (StoreError, "the store file is damaged ({detail}); restore it from a backup"),
    sqlite3.SQLITE_NOTADB: (StoreError, "not a factory store ({detail})"),
    sqlite3.SQLITE_IOERR: (StoreError, "the disk failed reading or writing the store ({detail})"),
}
DISK_FULL = "the disk is full; free some space and run the command again"


def store_error(exc: sqlite3.Error, path: Path | None, *, holder: str | None = None) -> FactoryError | None:
    """`exc` from SQLite as one line naming the store; None when it is not the machine's doing (a bug)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    where = f"{path}: " if path else "the store: "
    # SHMSIZE: SQLite could not grow the store's -shm file, which on a full disk is what fails first.
    if code & 0xFF == sqlite3.SQLITE_FULL or code == sqlite3.SQLITE_IOERR_SHMSIZE:
        return DiskFull(where + DISK_FULL)
    if code & 0xFF not in _SQLITE_ERRORS:
        return None
    cls, message = _SQLITE_ERRORS[code & 0xFF]
    return cls(where + message.format(holder=f" ({holder})" if holder else "", detail=exc))


_OS_ERRORS: dict[int, tuple[type[FactoryError], str]] = {
    errno.ENOSPC: (DiskFull, DISK_FULL),
    errno.EDQUOT: (DiskFull, "your disk quota is used up; free some space and run the command again"),
    errno.EACCES: (FileAccessError, "permission denied; check who may read and write it"),
    errno.EPERM: (FileAccessError, "operation not permitted (is the file immutable?)"),
    errno.EROFS: (FileAccessError, "on a read-only file system; this command writes there"),
    errno.EISDIR: (FileAccessError, "is a folder, where a file was expected"),
    errno.ENOTDIR: (FileAccessError, "part of this path is a file, where a folder was expected"),
    errno.ENOENT: (FileAccessError, "no such file or folder"),
    errno.EIO: (FileAccessError, "the disk failed reading or writing it"),
}


def os_error(exc: OSError, path: Path | str | None = None) -> FactoryError | None:
    """`exc` from the OS as one line naming the file; None for errors that are no user's to fix."""
    if exc.errno not in _OS_ERRORS:
        return None
    cls, message = _OS_ERRORS[exc.errno]
    name = exc.filename if exc.filename is not None else path
    return cls(f"{name}: {message}" if name is not None else message)
