"""The file itself: a zip of ``.npy`` members, read within a byte budget, written atomically.

Reading trusts nothing: only a regular file is opened (never a device or a FIFO), its size
and every member's unpacked size count against ``max_bytes`` before anything is read, and
each array is read by numpy's own ``np.lib.format`` (never unpickled) only after the size
its ``.npy`` header declares (shape x itemsize) is checked against the zip entry.
Writing goes to a temporary file beside the target, then ``os.replace`` puts it in place.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import secrets
import stat
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

from minidl._typing import Array

#: numpy's ``.npy`` reader and writer; typed loosely: numpy 2.2 (Python 3.10) ships it without types.
_npy: Any = np.lib.format

PathLike = str | os.PathLike[str]
#: Default bound on the bytes the members of a file may unpack to (1 GiB).
DEFAULT_MAX_BYTES = 1 << 30
#: Room for the zip and ``.npy`` headers around the arrays, in the file-size check.
_OVERHEAD = 1 << 20


class ModelFileError(ValueError):
    """A model file that minidl refuses to load, with the reason and the file's path.

    Raised for anything wrong with the file itself: not a regular file or not a zip
    archive, truncated or corrupted data, a format version this minidl does not read,
    an unknown layer type, a configuration, shape or dtype that does not fit, non-finite
    values, missing or extra arrays, or sizes beyond the ``max_bytes`` budget. A
    subclass of ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "not-a-model.npz")
    >>> with open(path, "wb") as file:
    ...     _ = file.write(b"import os; os.system('echo hello')")
    >>> try:
    ...     minidl.load(path)
    ... except ModelFileError as error:
    ...     print("refused")
    refused
    """


def need(condition: bool, message: str) -> None:
    """Raise :class:`ModelFileError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ModelFileError(message)


# -- writing ----------------------------------------------------------------------------
def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file so that it is either completely replaced or not touched at all.

    ``write(file)`` fills a temporary file ``.<name>.<8 hex digits>.tmp`` in the target's
    folder; it is flushed, ``fsync``-ed and renamed over ``path`` with ``os.replace``
    (atomic on POSIX and Windows), so ``path`` is never half-written. If ``write`` raises
    (or Ctrl-C arrives) the temporary file is removed; one left by a killed process
    (``kill -9``, a power cut) is removed by the next save to the same path. Two
    processes saving to one path at the same moment are not supported.
    """
    target = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(target))
    for stale in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.{'[0-9a-f]' * 8}.tmp")):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:  # mode 0o666 & ~umask, as for any new file
            write(file)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, os.stat(target).st_mode & 0o777)  # keep the old file's mode
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError) and temporary in (error.filename, error.filename2):
            raise type(error)(error.errno, error.strerror, target) from None  # name the target
        raise
    with contextlib.suppress(OSError):  # make the rename durable (folders cannot be opened on Windows)
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_member(archive: zipfile.ZipFile, member: str, value: np.ndarray[Any, Any]) -> None:
    """Write one array, in C order, as the ``.npy`` member ``member`` (never pickled)."""
    with archive.open(member, mode="w", force_zip64=True) as stream:
        _npy.write_array(stream, value if value.flags.c_contiguous else value.copy(order="C"),
                           allow_pickle=False)  # (ascontiguousarray would make a 0-d array 1-d)


def write_archive(path: PathLike, members: Mapping[str, np.ndarray[Any, Any]]) -> None:
    """Write ``{member name: array}`` as one uncompressed zip at ``path``, atomically."""

    def write(file: IO[bytes]) -> None:
        with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for member, value in members.items():
                write_member(archive, member, value)

    atomic_write(path, write)


# -- reading ----------------------------------------------------------------------------
def refusal(source: PathLike | IO[bytes], reason: str) -> ModelFileError:
    """A :class:`ModelFileError` that names the file: ``cannot load '<path>': <reason>``."""
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    return ModelFileError(f"cannot load {'a file object' if name is None else repr(name)}: {reason}")


def open_regular_file(path: PathLike | IO[bytes],
                      max_bytes: int) -> contextlib.AbstractContextManager[IO[bytes]]:
    """Open ``path`` for reading if it is a regular file of plausible size, else refuse, naming it.

    Opened without blocking, then checked with ``fstat``: a FIFO, a device such as
    ``/dev/zero`` or a folder is refused before a byte is read. An ``OSError`` (such as
    ``FileNotFoundError``) passes through. A binary file object is read as it is (and
    left open: it is the caller's).
    """
    if not isinstance(path, (str, os.PathLike)):
        return contextlib.nullcontext(path)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    info = os.fstat(descriptor)
    try:
        need(stat.S_ISREG(info.st_mode), "it is not a regular file (a folder, device, FIFO or socket); "
             "a model file is a regular file")
        need(info.st_size <= max_bytes + _OVERHEAD, f"the file is {info.st_size} bytes, more than "
             f"max_bytes={max_bytes} allows; pass a larger max_bytes to load if you trust this file")
    except ModelFileError as error:
        os.close(descriptor)
        raise refusal(path, str(error)) from None
    return os.fdopen(descriptor, "rb")


def check_members(archive: zipfile.ZipFile, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """Every member by name, after checking names, compression and the size budget.

    (An encrypted member is refused by zipfile itself, which asks for a password.)
    """
    total = sum(info.file_size for info in archive.infolist())
    need(total <= max_bytes, f"the arrays in the file would unpack to more than max_bytes={max_bytes} bytes "
         f"({total}); pass a larger max_bytes to load if you trust this file")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        label = f"archive member {info.filename!r}"
        need(info.filename not in members, f"the archive holds two members named {info.filename!r}")
        need(info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED),
             f"{label} uses compression method {info.compress_type}; expected stored (0) or deflated (8)")
        members[info.filename] = info
    return members


def check_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, dtype: str,
              shape: list[int] | None) -> None:
    """Check that a member's ``.npy`` header declares ``dtype`` and ``shape`` (None: any 1-D).

    ``dtype`` is one the model file allows (a float, ``int64`` or ``uint8``); the data
    the header declares (shape x itemsize) must fill the member exactly.
    """
    with archive.open(info) as stream:
        version = _npy.read_magic(stream)
        need(version in ((1, 0), (2, 0)), f"{label}: unsupported .npy format version {version}")
        read_header = _npy.read_array_header_1_0 if version == (1, 0) else _npy.read_array_header_2_0
        found_shape, _, found = read_header(stream)
        left = info.file_size - stream.tell()
    native = found.newbyteorder("=").name  # big-endian is fine; a structured or object dtype is not
    need(native == dtype, f"{label}: the header says dtype {dtype}; the array has dtype {native}")
    need(len(found_shape) == 1 if shape is None else list(found_shape) == shape, f"{label}: the header says "
         f"shape {'(n,)' if shape is None else tuple(shape)}; the array has shape {found_shape}")
    nbytes = math.prod(found_shape) * found.itemsize
    need(nbytes == left, f"{label}: its header claims {nbytes} bytes of data but the member holds {left}")


def read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> Array:
    """The array of a member whose header :func:`check_npy` accepted, native and finite.

    numpy reads it in chunks into one new array (no second copy); the zip checks its CRC.
    """
    with archive.open(info) as stream:
        array: Array = _npy.read_array(stream, allow_pickle=False)
    if not array.dtype.isnative:  # swap in place: no copy of a big array
        array = array.byteswap(inplace=True).view(array.dtype.newbyteorder("="))
    need(array.dtype.kind != "f" or bool(np.isfinite(array).all()), f"{label}: holds NaN or infinity")
    return array
