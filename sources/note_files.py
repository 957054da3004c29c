"""Finding and reading note files: which files under a folder are notes, and their text.

A note that cannot be read is a BadInput naming it, so a sync skips it and goes on.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from factory.errors import BadInput

NOTE_SUFFIXES = (".md", ".markdown")


def iter_note_files(root: Path) -> list[Path]:
    """Every `*.md` / `*.markdown` file under `root`, recursively and sorted; hidden folders
    (`.git`, `.factory`, `.obsidian`) and hidden files are skipped."""
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"{root}: not a folder; point the notes source at the folder holding your notes")
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder, f) for f in files if not f.startswith(".") and f.lower().endswith(NOTE_SUFFIXES)]
    return sorted(found)


def resolve_note(path: Path, *, root: Path | None, name: str) -> Path:
    """The file a note path stands for, symbolic links followed. Raises BadInput naming the note
    for a link loop, a dangling link and, with `root`, a link that leads outside `root`."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a link loop this way
        raise BadInput(f"{name}: cannot read: a symbolic link loop") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    if root is not None and not real.is_relative_to(root.resolve()):
        raise BadInput(f"{name}: a link to {real}, outside the notes folder; not followed")
    return real


def read_note(path: Path, *, max_bytes: int, name: str | None = None) -> str:
    """The note's text: UTF-8 without BOM, unix newlines. Raises BadInput naming the file
    (as `name` when given, e.g. its workspace-relative uri, else its path)."""
    name = name or str(path)
    data = _read_regular_file(path, max_bytes, name)
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise BadInput(f"{name}: looks binary (NUL byte at offset {nul}), not a Markdown note")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        raise BadInput(f"{name}: not UTF-8 (byte 0x{data[at]:02x} at offset {at}); re-save it as UTF-8") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BadInput(f"{name}: {'empty file' if not text else 'only whitespace'}, nothing to extract")
    return text


def _read_regular_file(path: Path, max_bytes: int, name: str) -> bytes:
    """At most `max_bytes` of a regular file. Anything else is refused from its stat, before it is
    opened: reading a FIFO waits for a writer forever, a device like /dev/zero never ends."""
    try:
        kind = _file_kind(os.stat(path).st_mode)
        if kind:
            raise BadInput(f"{name}: not a regular file ({kind}); only regular files are read")
        # O_NONBLOCK and the second check: a file swapped for a FIFO after the stat cannot block us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if kind := _file_kind(info.st_mode):
                raise BadInput(f"{name}: not a regular file ({kind}); only regular files are read")
            if info.st_size > max_bytes:
                raise BadInput(f"{name}: {info.st_size} bytes is over the {max_bytes}-byte limit (notes.max_file_bytes)")
            data = handle.read(max_bytes + 1)  # a file still growing stops at the limit too
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise BadInput(f"{name}: over the {max_bytes}-byte limit (notes.max_file_bytes)")
    return data


def _file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, for the message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((kind for test, kind in kinds if test(mode)), "a special file")
