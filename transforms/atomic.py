"""The one atomic file writer (local paths): the ledger, the manifest and the template store.

Here, in the lowest package, so that pipeline/ and transforms/ both import it (transforms/ never
imports pipeline/).
"""

from __future__ import annotations

import contextlib
import os


def write_bytes_atomic(path: str, data: bytes) -> None:
    """temp file + fsync + os.replace + fsync of the directory: a reader (or a process that
    restarts after a crash or power loss) sees the old file or the new one, never half. The
    temp name carries the process id, so two writers never share a temp file.

    >>> import tempfile; d = tempfile.mkdtemp(); p = os.path.join(d, "f")
    >>> write_bytes_atomic(p, b"one"); write_bytes_atomic(p, b"two"); open(p, "rb").read()
    b'two'
    >>> os.listdir(d)
    ['f']
    """
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
