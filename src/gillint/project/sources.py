"""Reading Python source files the way the interpreter does (BOM and coding cookie honoured)."""

from __future__ import annotations

import io
import os
import stat
import tokenize
from pathlib import Path


class SourceError(Exception):
    """The file cannot be read or decoded; the message is meant for users."""


def decode_source(data: bytes) -> str:
    """Decode bytes as Python would: PEP 263 coding cookie or BOM, UTF-8 by default."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # detect_encoding reports undecodable first lines as a bad declaration; say what it is.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            raise SourceError(f"cannot decode as utf-8: {decode_error}") from None
        raise SourceError(str(error)) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f"cannot decode as {encoding}: {error}") from None
    if "\x00" in text:
        raise SourceError("source contains a NUL byte")
    return text[1:] if text.startswith("\ufeff") else text


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``; :class:`SourceError` for anything but a readable regular file.

    The file is opened without blocking and checked before reading, so a FIFO or device named
    ``*.py`` is reported instead of hanging the run.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError:
        raise SourceError("is a directory") from None
    except OSError as error:
        raise SourceError(error.strerror or str(error)) from None
    with os.fdopen(descriptor, "rb") as file:
        try:
            mode = os.fstat(descriptor).st_mode
            if stat.S_ISDIR(mode):
                raise SourceError("is a directory")
            if not stat.S_ISREG(mode):
                raise SourceError("not a regular file")
            return file.read()
        except OSError as error:
            raise SourceError(error.strerror or str(error)) from None


def read_source(path: Path) -> str:
    """The decoded text of ``path`` (see :func:`read_bytes`)."""
    return decode_source(read_bytes(path))


def resolve_path(path: Path) -> Path:
    """``path.resolve()``, or the absolute path when resolving fails (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: symlink loop before Python 3.13
        return Path(os.path.abspath(path))


def module_name_for(path: Path) -> tuple[str, bool, Path]:
    """The dotted module name of ``path``, whether it is a package, and its import root.

    Walks up through directories that hold an ``__init__.py``: ``src/pkg/sub/mod.py`` is
    ``pkg.sub.mod`` with import root ``src``.
    """
    path = resolve_path(path) if not path.is_absolute() else path
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts) or path.stem, is_package, directory
