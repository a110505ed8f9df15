"""What a run may read and where it may write: the checks shared by `run`, `verify` and `watch`.

Owns:
- opening an input file: only regular files, and (unless --follow_symlinks) only files whose
  real path is inside the drop. A FIFO, socket, device, directory, dangling symlink, symlink
  loop or a link out of the drop is refused with a reason (the file becomes one dead letter),
  never opened in a way that can block, and never read;
- names: file and drop names that are not valid UTF-8 are carried as their bytes and shown
  with the bad bytes escaped (`display_name`); text printed to a terminal has its control
  characters escaped (`printable`);
- the output location: never equal to, inside, or containing the input, and a directory that
  holds anything but a newsnorm output is never cleaned;
- the output lock: one `newsnorm run` per output directory at a time.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
from typing import Any

# What a newsnorm output directory holds (pipeline/run.py writes these and nothing else).
OUTPUT_NAMES = frozenset({"articles", "dead_letter", "manifest.json", "report.html", "_staging",
                          "_staging-spill"})
# Besides: a manifest's temp file left by a killed run (transforms/atomic.py names it).
OUTPUT_PREFIXES = ("manifest.json.tmp", ".newsnorm-")


class Refused(Exception):
    """An input file that is not read: `reason` is the dead letter's reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _is_remote(path: str) -> bool:
    return "://" in path


def display_name(name: str) -> str:
    """A name as text: bytes that were not UTF-8 (carried by Python as lone surrogates, PEP
    383) become visible escapes, so the name can be written, hashed and shown.

    >>> display_name("caf\\udce9.jsonl"), display_name("plain.jsonl")
    ('caf\\\\xe9.jsonl', 'plain.jsonl')
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def portable_path(path: str) -> Any:
    """A local path as Beam can carry it: str when it is valid UTF-8, else its bytes (Beam's
    string coder refuses lone surrogates; `native_path` turns bytes back).

    >>> portable_path("/d/a.jsonl"), portable_path("/d/\\udcff")
    ('/d/a.jsonl', b'/d/\\xff')
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def native_path(path: Any) -> str:
    return os.fsdecode(path) if isinstance(path, bytes) else path


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe to print to a terminal: control characters (escape sequences that can
    rewrite the terminal title or the screen), bidi overrides and lone surrogates escaped.

    >>> printable("ok \\x1b]0;pwned\\x07 name\\u202e")
    'ok \\\\x1b]0;pwned\\\\x07 name\\\\u202e'
    """
    text = display_name(text)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def input_root(path: str) -> str | None:
    """The directory an input's files must stay inside: the drop directory, the directory of
    a glob's fixed part, or the directory of a single file. None for remote inputs.

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> [input_root(p) == d for p in (d + "/", d + "/*.jsonl", d + "/a.jsonl")]
    [True, True, True]
    >>> input_root("gs://bucket/drop") is None
    True
    """
    if _is_remote(path):
        return None
    if any(ch in path for ch in "*?["):
        fixed = re.split(r"[*?\[]", path, maxsplit=1)[0]
        return os.path.abspath(os.path.dirname(fixed) or ".")
    path = os.path.abspath(path)
    return path if os.path.isdir(path) else os.path.dirname(path)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def open_input(path: Any, root: str | None = None, follow_symlinks: bool = False):
    """Open one input file for reading (binary), or raise Refused.

    Local files are opened non-blocking (a FIFO would block a plain open forever), checked
    with fstat to be regular files, and, unless `follow_symlinks`, checked to be the file
    whose real path is inside `root`. Remote paths go to Beam's FileSystems."""
    path = native_path(path)
    if _is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.open(path, compression_type="uncompressed")
    try:
        os.stat(path)  # follows links: a dangling one or a loop fails here
        real = os.path.realpath(path)
        if root is not None and not follow_symlinks and \
                not _inside(real, os.path.realpath(root)):
            raise Refused("outside_drop", "a symlink whose target is outside the drop; not "
                          "read (--follow_symlinks reads it)")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        what = {errno.ENOENT: "a dangling symlink (its target does not exist)",
                errno.ELOOP: "a symlink loop"}.get(exc.errno, exc.strerror or str(exc))
        raise Refused("unreadable_file", f"{what}; not read") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("unreadable_file", f"{_kind(st.st_mode)}, not a regular file; not read")
        if root is not None and not follow_symlinks:
            # The file opened is the one checked above (not swapped for a link in between).
            try:
                same = os.stat(real)
            except OSError:
                same = None
            if same is None or (same.st_dev, same.st_ino) != (st.st_dev, st.st_ino):
                raise Refused("unreadable_file", "the file changed while it was opened")
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# --------------------------------------------------------------------------- output location


def overlap(input_path: str, output: str) -> str | None:
    """Why `output` may not be written for `input_path` (None when it may): the output equal
    to the input, inside it (each rerun would read the last output back in), or containing it
    (cleaning the output would delete input files).

    >>> import tempfile; d = tempfile.mkdtemp(); os.mkdir(d + "/drop")
    >>> overlap(d + "/drop", d + "/out") is None
    True
    >>> overlap(d + "/drop", d + "/drop/out"), overlap(d + "/drop", d)
    ('the output is inside the input', 'the output contains the input')
    >>> overlap(d + "/drop/", d + "/drop"), overlap(d + "/drop/*.jsonl", d + "/drop/x")
    ('the output is the input', 'the output is inside the input')
    >>> overlap(d + "/drop/a.jsonl", d + "/drop/out") is None    # one file: only it matters
    True
    >>> overlap("gs://b/in/", "gs://b/in/out")
    'the output is inside the input'
    """
    if _is_remote(input_path) or _is_remote(output):
        if _is_remote(input_path) and _is_remote(output):
            a = re.split(r"[*?\[]", input_path, maxsplit=1)[0].rstrip("/")
            b = output.rstrip("/")
            return _relation(a, b, "/")
        return None
    root = input_root(input_path)
    single = not any(ch in input_path for ch in "*?[") and not os.path.isdir(input_path)
    out = os.path.realpath(output)
    src = os.path.realpath(input_path) if single else os.path.realpath(root)
    if single:  # one file: only the file itself matters, not its directory
        if out == src:
            return "the output is the input"
        return "the output contains the input" if _inside(src, out) else None
    return _relation(src, out, os.sep)


def _relation(src: str, out: str, sep: str) -> str | None:
    if out == src:
        return "the output is the input"
    if out.startswith(src.rstrip(sep) + sep):
        return "the output is inside the input"
    if src.startswith(out.rstrip(sep) + sep):
        return "the output contains the input"
    return None


def foreign_entries(output: str) -> list[str]:
    """Names in an output directory (or under a bucket prefix) that newsnorm did not write (its
    own write probes aside): a directory holding any is not ours to clean.

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> for name in ("manifest.json", "manifest.json.tmp.4242"): open(os.path.join(d, name), "w").close()
    >>> foreign_entries(d)
    []
    >>> open(os.path.join(d, "notes.txt"), "w").close(); foreign_entries(d)
    ['notes.txt']
    """
    if _is_remote(output):  # the first name under the prefix of every object there
        from pipeline.storage import list_tree

        base = output.rstrip("/") + "/"
        names = {m.path[len(base):].split("/", 1)[0] for m in list_tree(output)
                 if m.path.startswith(base)}
    elif os.path.isdir(output):
        names = set(os.listdir(output))
    else:
        return []
    return sorted(n for n in names if n not in OUTPUT_NAMES and not n.startswith(OUTPUT_PREFIXES))


class OutputLocked(Exception):
    pass


def lock_output(output: str) -> int | None:
    """An exclusive lock on a local output directory, held until the process exits (or the
    returned fd is closed); raises OutputLocked at once when another run holds it. The lock is
    on the directory itself (flock), so no lock file is left behind. None for remote outputs:
    buckets have no locks (docs/reliability.md says so)."""
    if _is_remote(output):
        return None
    fd = os.open(output, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputLocked(f"another newsnorm run is writing to {printable(output)}; "
                           "wait for it to finish") from None
    return fd
