"""`newsnorm watch`: run the batch pipeline once for every complete drop that arrives.

Owns: finding drops in a directory, deciding when a drop is complete, the ledger of each drop's
state, retries with back-off, and the guarantee that a watcher killed at any moment and
restarted processes every drop exactly once and never marks a half-written output done.

Why a watcher and not Beam's `MatchContinuously`: on the local runner it busy-polls, never runs
anything after a GroupByKey (so no file write ever completes) and re-emits every file after a
restart (checked on Beam 2.77). So each complete drop runs `newsnorm run` as a subprocess:
memory is released after each drop and a crash is contained in one drop.

Conventions (README "Triggered runs and deployment"):
- a drop is a sub-directory of --input, or a single file in it; names starting with `_` or `.`
  are not drops, nor are `*.ready` marker files;
- a directory drop is complete when `_READY` or `_SUCCESS` (what Hadoop, Spark and Beam file
  sinks write) exists inside it; a file drop when `<file>.ready` exists beside it; with `--settle_s N` also when its files have not changed for N seconds;
- drop DIR/NAME is written to OUT/NAME; its ledger entry is OUT/_ledger/NAME.json and the output
  of its runs is appended to OUT/_ledger/NAME.log;
- --input and --output may be bucket prefixes (gs://, s3://; markers are then objects, a drop is
  the objects under PREFIX/NAME/); the ledger then lives on local disk (--ledger_dir), since it
  needs what a bucket lacks: an exclusive lock and an atomic replace (deploy/README.md).

States: seen (incomplete) -> ready -> running -> done | failed (retried after a back-off) |
parked (given up after --max_attempts; delete the ledger entry, or pass --retry_parked, to try
again). A "running" entry found at start-up means the previous watcher died during that drop:
the attempt is recorded as interrupted and the drop runs again. This is safe because
- the watcher holds OUT/_ledger/_watch.lock while it runs, and hands that lock to each child
  run, so no new watcher starts while a run of the old one is still alive;
- a child run is killed when its watcher dies (Linux PR_SET_PDEATHSIG), and `newsnorm run`
  writes its manifest last, so a killed run leaves no manifest; the rerun cleans its staging;
- if the run had finished but the ledger had not yet been updated, `newsnorm run` finds the
  drop already done (same input, same config) and skips it, so there is still one run;
- a drop is marked done only after the output verifies (the check behind `newsnorm verify`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from pipeline.inputs import IGNORED_PREFIXES  # names that are never drops, as in `run`
from transforms.atomic import write_bytes_atomic

log = logging.getLogger("newsnorm")

# Either marker completes a directory drop: ours, and the one most producers (Hadoop, Spark,
# Beam file sinks, many exporters) already write. The ledger says which one was seen.
DIR_MARKERS = ("_READY", "_SUCCESS")
FILE_MARKER_SUFFIX = ".ready"
LEDGER_DIR = "_ledger"
LOCK_NAME = "_watch.lock"

SEEN, READY, RUNNING, DONE, FAILED, PARKED = "seen", "ready", "running", "done", "failed", "parked"


# --------------------------------------------------------------------------------------------
# Pure helpers


def retry_delay(failures: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait before the next attempt after `failures` failed attempts: doubling.

    >>> [retry_delay(n, 30, 600) for n in (1, 2, 3, 4, 5, 6)]
    [30, 60, 120, 240, 480, 600]
    >>> retry_delay(0, 30, 600)
    0
    """
    if failures <= 0:
        return 0
    return min(cap_s, base_s * 2 ** (failures - 1))


def is_complete(has_marker: bool, signature: str, entry: dict | None, now: float,
                settle_s: float) -> bool:
    """A drop is complete when its marker exists, or (settle_s > 0) when its files have kept
    the same signature for settle_s seconds, as recorded in its ledger entry.

    >>> is_complete(True, "", None, 0.0, 0)
    True
    >>> e = {"signature": "ab", "signature_since": 100.0}
    >>> [is_complete(False, "ab", e, t, 10) for t in (105.0, 110.0)]
    [False, True]
    >>> is_complete(False, "cd", e, 200.0, 10)    # changed since: the clock starts again
    False
    >>> is_complete(False, "ab", e, 200.0, 0)     # no settle time: only a marker counts
    False
    >>> is_complete(False, "", {"signature": "", "signature_since": 0.0}, 99.0, 10)  # empty
    False
    """
    if has_marker:
        return True
    if settle_s <= 0 or not signature or not entry:
        return False
    return entry.get("signature") == signature and now - entry.get("signature_since", now) >= settle_s


def failures_of(entry: dict) -> int:
    """Attempts that did not end done (failed runs, runs interrupted by a dead watcher), since
    the last --retry_parked.

    >>> failures_of({"attempts": [{"result": "interrupted"}, {"result": "failed"}, {"result": "done"}]})
    2
    >>> failures_of({"attempts": [{"result": "failed"}, {"result": "failed"}], "retry_from": 1})
    1
    """
    return sum(1 for a in entry.get("attempts", [])[entry.get("retry_from", 0):]
               if a.get("result") in ("failed", "interrupted"))


def last_error_line(text: str, limit: int = 300) -> str:
    """The last informative line of a run's stderr: what a ledger and a log line should show.

    >>> last_error_line("newsnorm: running\\nTraceback...\\nValueError: bad\\n\\n")
    'ValueError: bad'
    >>> last_error_line("")
    ''
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:limit] if lines else ""


def split_passthrough(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Arguments after `--` always go to `newsnorm run`; those before are parsed by watch.

    >>> split_passthrough(["--input", "d", "--", "--runner", "X"])
    (['--input', 'd'], ['--runner', 'X'])
    >>> split_passthrough(["--once"])
    (['--once'], [])
    """
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


# --------------------------------------------------------------------------------------------
# Drops on disk


@dataclass(frozen=True)
class Drop:
    name: str
    path: str
    is_dir: bool

    def markers(self) -> list[str]:
        """Every marker that completes this drop, in order of preference."""
        if self.is_dir:
            return [join(self.path, m) for m in DIR_MARKERS]
        return [self.path + FILE_MARKER_SUFFIX]

    def found_marker(self) -> str | None:
        """The name of the first marker present, or None."""
        return next((basename(m) for m in self.markers() if exists(m)), None)

    def signature(self) -> str:
        """Hash of (name, size, mtime) of every file in the drop; '' for an empty drop."""
        entries = []
        if is_remote(self.path):  # objects: (name, size, last update) from one listing
            from pipeline.storage import list_tree

            base = self.path.rstrip("/")
            entries = [(m.path[len(base):], m.size_in_bytes, m.last_updated_in_seconds)
                       for m in list_tree(base)]
        elif self.is_dir:
            for dirpath, dirnames, filenames in os.walk(self.path):
                dirnames.sort()
                for f in sorted(filenames):
                    full = os.path.join(dirpath, f)
                    with contextlib.suppress(FileNotFoundError):
                        st = os.stat(full)
                        entries.append((os.path.relpath(full, self.path), st.st_size, st.st_mtime_ns))
        else:
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(self.path)
                entries.append((self.name, st.st_size, st.st_mtime_ns))
        if not entries:
            return ""
        return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def is_remote(path: str) -> bool:
    return "://" in path


def join(parent: str, name: str) -> str:
    """>>> join("gs://b/in/", "d"), join("in", "d")
    ('gs://b/in/d', 'in/d')
    """
    return parent.rstrip("/") + "/" + name if is_remote(parent) else os.path.join(parent, name)


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if is_remote(path) else os.path.basename(path)


def exists(path: str) -> bool:
    if not is_remote(path):
        return os.path.exists(path)
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.exists(path)


def remote_drop_names(input_prefix: str, object_paths: Sequence[str]) -> list[tuple[str, bool]]:
    """Object paths under a bucket prefix -> the drops there as (name, is_dir): the first
    path part under the prefix; a directory drop when objects lie below it. Markers, hidden
    and `_` names are not drops, as on a disk.

    >>> remote_drop_names("gs://b/in", ["gs://b/in/d1/a.jsonl", "gs://b/in/d1/_READY",
    ...     "gs://b/in/f.jsonl", "gs://b/in/f.jsonl.ready", "gs://b/in/_tmp/x", "gs://b/in2/y"])
    [('d1', True), ('f.jsonl', False)]
    """
    base = input_prefix.rstrip("/") + "/"
    found: dict[str, bool] = {}
    for path in object_paths:
        if not path.startswith(base):
            continue
        first, sep, _ = path[len(base):].partition("/")
        if not first or first.startswith(IGNORED_PREFIXES) or (
                not sep and first.endswith(FILE_MARKER_SUFFIX)):
            continue
        found[first] = found.get(first, False) or bool(sep)
    return sorted(found.items())


def find_drops(input_dir: str, skip: Sequence[str] = ()) -> list[Drop]:
    """The candidate drops in input_dir, by name: sub-directories and files, without markers,
    hidden names and the paths in `skip` (e.g. an output directory inside input_dir)."""
    if is_remote(input_dir):
        from pipeline.storage import list_tree

        skipped = {s.rstrip("/") for s in skip}
        names = remote_drop_names(input_dir, [m.path for m in list_tree(input_dir)])
        return [Drop(name, join(input_dir, name), is_dir) for name, is_dir in names
                if join(input_dir, name) not in skipped]
    skip_abs = {os.path.abspath(s) for s in skip}
    drops = []
    for entry in sorted(os.scandir(input_dir), key=lambda e: e.name):
        if entry.name.startswith(IGNORED_PREFIXES) or entry.name.endswith(FILE_MARKER_SUFFIX):
            continue
        if os.path.abspath(entry.path) in skip_abs:
            continue
        if entry.is_dir():
            drops.append(Drop(entry.name, entry.path, True))
        elif entry.is_file():
            drops.append(Drop(entry.name, entry.path, False))
    return drops


# --------------------------------------------------------------------------------------------
# Ledger: one JSON file per drop, replaced atomically


def write_json_atomic(path: str, doc: dict) -> None:
    """`doc` as JSON, written atomically (transforms/atomic.py): a reader (or a watcher that
    restarts after a crash or power loss) sees the old entry or the new one, never half."""
    try:
        data = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    except UnicodeEncodeError:
        # A drop name that is not UTF-8 (its bytes held as lone surrogates): escaped in the
        # JSON, so it reads back as the same name.
        data = json.dumps(doc, ensure_ascii=True, indent=1, sort_keys=True).encode("ascii")
    write_bytes_atomic(path, data)


class Ledger:
    def __init__(self, out_dir: str, ledger_dir: str = ""):
        self.dir = ledger_dir or os.path.join(out_dir, LEDGER_DIR)
        os.makedirs(self.dir, exist_ok=True)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name + ".json")

    def log_path(self, name: str) -> str:
        return os.path.join(self.dir, name + ".log")

    def get(self, name: str) -> dict | None:
        path = self.path(name)
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # Cannot come from our atomic writes; a hand edit gone wrong. Keep it for a human
            # and start the drop afresh: `newsnorm run` skips it if its output is already done.
            kept = f"{path}.corrupt-{int(time.time())}"
            os.replace(path, kept)
            log.warning("watch: ledger entry %s is not valid JSON (%s); kept as %s, drop "
                        "treated as new", path, exc, kept)
            return None

    def put(self, entry: dict) -> None:
        entry["updated"] = time.time()
        write_json_atomic(self.path(entry["drop"]), entry)

    def names(self) -> list[str]:
        return sorted(f[:-5] for f in os.listdir(self.dir)
                      if f.endswith(".json") and not f.startswith(IGNORED_PREFIXES))


# --------------------------------------------------------------------------------------------
# The watcher


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """preexec_fn for a child run: SIGKILL it when the watcher dies (Linux only). Without it an
    orphaned run would go on writing while a restarted watcher reruns the same drop; the lock
    handed to the child also prevents that, by making the new watcher wait."""
    # PR_SET_PDEATHSIG fires when the thread that started the child exits; the watcher starts
    # children from its only thread.
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the watcher died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class WatchConfig:
    input: str
    output: str
    once: bool = False
    # Poll every 5 s: a drop waits at most 5 s to start, against runs that take seconds to
    # minutes; one poll is a directory listing (milliseconds for hundreds of drops).
    poll_s: float = 5.0
    settle_s: float = 0.0
    max_attempts: int = 3
    # Back-off 30 s doubling to 1 h: covers a full disk or a busy model directory being fixed
    # by hand, without hammering a drop that fails for good (it is parked after max_attempts).
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0
    run_timeout_s: float = 0.0
    # A restarted watcher waits this long for the lock: the old watcher's run dies with it at
    # once on Linux, so the wait only matters for an overlapping cron run or another platform.
    lock_wait_s: float = 60.0
    retry_parked: bool = False
    # Where the ledger lives; "" = OUTPUT/_ledger. Required, and local, when --output is a
    # bucket prefix.
    ledger_dir: str = ""
    run_args: tuple[str, ...] = ()


class Watcher:
    def __init__(self, cfg: WatchConfig, clock: Callable[[], float] = time.time):
        self.cfg = cfg
        self.clock = clock
        self.ledger = Ledger(cfg.output, cfg.ledger_dir)
        self.stopping = False
        self.child: subprocess.Popen | None = None
        self.lock_fd: int | None = None
        self.child_stopped = False  # the running drop was stopped by a second signal

    # -- signals -----------------------------------------------------------------------------

    def request_stop(self, signum, _frame) -> None:
        if not self.stopping:  # the first signal: finish the running drop, start no other
            self.stopping = True
            log.info("watch: %s received; stopping after the current drop",
                     signal.Signals(signum).name)
        elif self.child is not None and self.child.poll() is None:
            log.info("watch: second %s; stopping the running drop", signal.Signals(signum).name)
            self.child_stopped = True
            self.child.terminate()

    # -- lock --------------------------------------------------------------------------------

    def acquire_lock(self) -> bool:
        path = os.path.join(self.ledger.dir, LOCK_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = self.clock() + self.cfg.lock_wait_s
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.lock_fd = fd
                return True
            except BlockingIOError:
                if not waited:
                    log.info("watch: %s is held by another watcher or by a run it started; "
                             "waiting up to %.0f s", path, self.cfg.lock_wait_s)
                    waited = True
                if self.clock() >= deadline or self.stopping:
                    os.close(fd)
                    return False
                time.sleep(0.2)

    # -- state -------------------------------------------------------------------------------

    def set_state(self, entry: dict, state: str, detail: str = "") -> None:
        entry["state"] = state
        self.ledger.put(entry)
        log.info("watch: drop %r %s%s", entry["drop"], state, f" ({detail})" if detail else "")

    def recover(self) -> None:
        """Entries left "running" by a watcher that died: record the interruption, run again."""
        for name in self.ledger.names():
            entry = self.ledger.get(name)
            if not entry or entry.get("state") != RUNNING:
                continue
            attempt = entry["attempts"][-1]
            attempt.update(result="interrupted", finished=self.clock(),
                           reason="the watcher died while this drop was running")
            self.after_failure(entry, attempt["reason"], retry_now=True)
        if self.cfg.retry_parked:
            for name in self.ledger.names():
                entry = self.ledger.get(name)
                if entry and entry.get("state") == PARKED:
                    entry["retry_from"] = len(entry.get("attempts", []))  # history is kept
                    entry.pop("error", None)
                    self.set_state(entry, READY, "--retry_parked")

    def after_failure(self, entry: dict, reason: str, retry_now: bool = False) -> None:
        failures = failures_of(entry)
        entry["error"] = reason
        if failures >= self.cfg.max_attempts:
            entry.pop("next_retry", None)
            self.set_state(entry, PARKED, f"after {failures} failed attempt(s): {reason}")
            return
        delay = 0 if retry_now else retry_delay(failures, self.cfg.backoff_s, self.cfg.backoff_max_s)
        entry["next_retry"] = self.clock() + delay
        self.set_state(entry, FAILED, f"attempt {failures}/{self.cfg.max_attempts}: {reason}; "
                                      f"retry in {delay:.0f} s")

    def scan(self) -> list[dict]:
        """Update seen/ready entries from the disk; return the entries that may run now, oldest
        ready first."""
        now = self.clock()
        runnable = []
        for drop in find_drops(self.cfg.input, skip=[self.cfg.output]):
            entry = self.ledger.get(drop.name)
            new = entry is None
            if new:
                entry = {"drop": drop.name,
                         "path": drop.path if is_remote(drop.path) else os.path.abspath(drop.path),
                         "kind": "dir" if drop.is_dir else "file", "attempts": [],
                         "first_seen": now, "state": SEEN,
                         "log": self.ledger.log_path(drop.name)}
            if entry["state"] == SEEN:
                found = drop.found_marker()
                has_marker = found is not None
                # Walk the drop only when a settle time is in use: big drops, frequent polls.
                signature = drop.signature() if self.cfg.settle_s > 0 and not has_marker else ""
                if is_complete(has_marker, signature, entry, now, self.cfg.settle_s):
                    entry["ready_at"] = now
                    entry["completed_by"] = (f"marker {found}" if has_marker
                                             else f"unchanged for {self.cfg.settle_s:g} s")
                    self.set_state(entry, READY, entry["completed_by"])
                elif new or entry.get("signature") != signature:
                    entry["signature"], entry["signature_since"] = signature, now
                    if new:
                        self.set_state(entry, SEEN, "waiting for " + " or ".join(
                                           os.path.basename(m) for m in drop.markers())
                                       + (f" or {self.cfg.settle_s:g} s unchanged"
                                          if self.cfg.settle_s > 0 else ""))
                    else:
                        self.ledger.put(entry)
            if entry["state"] == READY or (entry["state"] == FAILED and entry.get("next_retry", 0) <= now):
                runnable.append(entry)
        runnable.sort(key=lambda e: (e.get("ready_at", 0), e["drop"]))
        return runnable

    # -- one drop ----------------------------------------------------------------------------

    def run_command(self, entry: dict) -> list[str]:
        return [sys.executable, "-m", "pipeline.cli", "run", "--input", entry["path"],
                "--output", self.output_of(entry["drop"]), *self.cfg.run_args]

    def output_of(self, name: str) -> str:
        """OUT/<drop>; a drop name that is not UTF-8 gets its bad bytes escaped there (the
        run's output paths travel through Beam as text)."""
        from pipeline.guard import display_name

        return join(self.cfg.output, display_name(name))

    def process(self, entry: dict) -> None:
        name = entry["drop"]
        out = self.output_of(name)
        attempt = {"attempt": len(entry["attempts"]) + 1, "started": self.clock(), "pid": os.getpid()}
        entry["attempts"].append(attempt)
        entry.pop("next_retry", None)
        self.set_state(entry, RUNNING, f"attempt {attempt['attempt']}")
        cmd = self.run_command(entry)
        with open(self.ledger.log_path(name), "ab") as logf:
            logf.write(f"\n=== attempt {attempt['attempt']} {time.ctime()}: "
                       f"{' '.join(cmd)}\n".encode("utf-8", "surrogateescape"))
            logf.flush()
            rc, text = self.run_child(cmd, logf, entry)
        err = last_error_line(text)
        attempt["finished"] = self.clock()
        attempt["rc"] = rc
        if self.child_stopped:  # not the drop's fault: no failure counted, runs again next time
            attempt["result"] = "stopped"
            self.set_state(entry, READY, "stopped by a second signal; will run again")
            return
        if rc != 0:
            attempt["result"] = "failed"
            reason = f"newsnorm run exited {rc}" + (f": {err}" if err else "")
            if rc < 0:
                reason = f"newsnorm run killed by {signal.Signals(-rc).name}"
            attempt["reason"] = reason
            self.after_failure(entry, reason)
            return
        problems = verify_output(out)
        if problems:
            attempt["result"] = "failed"
            attempt["reason"] = "verify failed: " + "; ".join(problems[:3])
            self.after_failure(entry, attempt["reason"])
            return
        from pipeline.manifest import load

        manifest = load(out)
        attempt["result"] = "done"
        attempt["run_id"] = manifest["run"]["run_id"]
        # `newsnorm run` found this drop already done (the previous watcher died after the run
        # but before it could record it): no second run happened.
        attempt["skipped_already_done"] = "is already done in" in text
        entry.pop("error", None)
        c = manifest["counts"]
        self.set_state(entry, DONE, f"{attempt['finished'] - attempt['started']:.1f} s, run "
                                    f"{attempt['run_id']}: read {c['read']} written {c['written']} "
                                    f"dead-lettered {c['dead_lettered']}")

    def run_child(self, cmd: list[str], logf, entry: dict | None = None) -> tuple[int, str]:
        """Run `newsnorm run`; its output goes to the drop's log. Returns (exit code, output)."""
        start = logf.tell()
        pass_fds = (self.lock_fd,) if self.lock_fd is not None else ()
        # A new session: a Ctrl-C in the terminal reaches the watcher only, which then lets the
        # run finish (a second Ctrl-C stops it).
        self.child = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, pass_fds=pass_fds,
                                      start_new_session=True,
                                      preexec_fn=_die_with_parent(os.getpid()))
        if entry is not None:  # so an operator (or a test) can see which process runs the drop
            entry["attempts"][-1]["child_pid"] = self.child.pid
            self.ledger.put(entry)
        try:
            timeout = self.cfg.run_timeout_s or None
            try:
                rc = self.child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
                return 124, f"timed out after {self.cfg.run_timeout_s:g} s (--run_timeout_s)\n"
        finally:
            self.child = None
        logf.flush()
        with open(logf.name, "rb") as fh:
            fh.seek(start)
            return rc, fh.read().decode("utf-8", "replace")

    # -- loop --------------------------------------------------------------------------------

    def loop(self) -> int:
        self.recover()
        while not self.stopping:
            runnable = self.scan()
            if runnable and not self.stopping:
                self.process(runnable[0])
                continue  # rescan: drops that arrived meanwhile, retries that became due
            if self.cfg.once:
                break
            deadline = self.clock() + self.cfg.poll_s
            while not self.stopping and self.clock() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - self.clock())))
        if self.cfg.once:
            stuck = [e["drop"] for e in iter_entries(self.cfg.output, self.cfg.ledger_dir)
                     if e["state"] in (FAILED, PARKED)]
            if stuck:
                log.info("watch: failed or parked: %s", ", ".join(stuck))
                return 1  # cron mails it / the CronJob shows it failed
        return 0


def verify_output(out: str) -> list[str]:
    """The check behind `newsnorm verify OUT`: manifest present, files and counts consistent."""
    from pipeline.manifest import verify

    return verify(out)


# --------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    d = WatchConfig(input="", output="")
    p = argparse.ArgumentParser(
        prog="newsnorm watch",
        description="Run `newsnorm run` once for every complete drop in --input, into "
        "--output/<drop>. Other flags, and everything after --, are passed to `newsnorm run`.")
    p.add_argument("--input", required=True, help="directory or bucket prefix (gs://, s3://) "
                   "that drops arrive in")
    p.add_argument("--output", required=True, help="directory or bucket prefix: one "
                   "sub-directory per drop, plus the ledger in _ledger/ when local")
    p.add_argument("--ledger_dir", default=d.ledger_dir, help="local directory for the ledger "
                   "(default OUTPUT/_ledger; required when --output is a bucket)")
    p.add_argument("--once", action="store_true", help="process the complete drops and exit "
                   "(for cron); exit 1 if a drop failed")
    p.add_argument("--poll_s", type=float, default=d.poll_s, help="seconds between scans")
    p.add_argument("--settle_s", type=float, default=d.settle_s,
                   help="also treat a drop as complete when unchanged for this long (0 = a "
                   "marker is required)")
    p.add_argument("--max_attempts", type=int, default=d.max_attempts,
                   help="failed or interrupted attempts before a drop is parked")
    p.add_argument("--backoff_s", type=float, default=d.backoff_s,
                   help="wait after the first failure; doubles after each further one")
    p.add_argument("--backoff_max_s", type=float, default=d.backoff_max_s,
                   help="the longest wait between attempts")
    p.add_argument("--run_timeout_s", type=float, default=d.run_timeout_s,
                   help="kill a run after this long and count a failure (0 = no limit)")
    p.add_argument("--lock_wait_s", type=float, default=d.lock_wait_s,
                   help="how long to wait for another watcher on the same --output")
    p.add_argument("--retry_parked", action="store_true",
                   help="give parked drops a fresh set of attempts")
    return p


def config_from_argv(argv: Sequence[str]) -> WatchConfig:
    from pipeline.options import UsageError, build_parser as run_parser, check_passthrough

    own, after = split_passthrough(argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(own)
    passthrough = unknown + after
    for flag in ("--input", "--output"):
        if any(a == flag or a.startswith(flag + "=") for a in passthrough):
            raise SystemExit(f"newsnorm watch: error: {flag} is set by the watcher for each drop")
    # Every flag handed to the runs must be one `newsnorm run` or Beam knows: checked here
    # once, not found out by every drop failing.
    runs = run_parser()
    _, beam_args = runs.parse_known_args(["--input", "-", "--output", "-", *passthrough])
    try:
        check_passthrough(beam_args, parser, runs)
    except UsageError as exc:
        print(f"newsnorm watch: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    names = {f.name for f in dataclasses.fields(WatchConfig)}
    kwargs = {k: v for k, v in vars(args).items() if k in names}
    return WatchConfig(**kwargs, run_args=tuple(passthrough))


def run(argv: Sequence[str] | None = None) -> int:
    cfg = config_from_argv(sys.argv[1:] if argv is None else argv)
    if is_remote(cfg.input) or is_remote(cfg.output):
        from pipeline import storage

        # The same Beam filesystem options the runs get (--s3_endpoint_url, ...).
        try:
            storage.check_remote([p for p in (cfg.input, cfg.output) if is_remote(p)],
                                 storage.set_filesystem_options(cfg.run_args))
        except storage.StorageError as exc:
            print(f"newsnorm watch: error: {exc}", file=sys.stderr)
            return 2
    elif not os.path.isdir(cfg.input):
        print(f"newsnorm watch: error: input directory not found: {cfg.input}", file=sys.stderr)
        return 2
    if is_remote(cfg.output) and not cfg.ledger_dir:
        print("newsnorm watch: error: --output is a bucket: give --ledger_dir, a local "
              "directory for the ledger (it needs a lock and atomic replace)", file=sys.stderr)
        return 2
    if is_remote(cfg.ledger_dir):
        print("newsnorm watch: error: --ledger_dir must be a local directory", file=sys.stderr)
        return 2
    from pipeline.options import UsageError
    from pipeline.run import check_output_writable  # the same probe as `run`

    for local in [d for d in (cfg.output, cfg.ledger_dir) if d and not is_remote(d)]:
        try:
            check_output_writable(local)
        except UsageError as exc:
            print(f"newsnorm watch: error: {exc}", file=sys.stderr)
            return 2
    watcher = Watcher(cfg)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, watcher.request_stop)
    if not watcher.acquire_lock():
        print(f"newsnorm watch: another watcher is using {cfg.output} (lock not free after "
              f"{cfg.lock_wait_s:g} s); exiting", file=sys.stderr)
        return 75  # EX_TEMPFAIL: try again later
    log.info("watch: watching %s -> %s%s", cfg.input, cfg.output, " (once)" if cfg.once else "")
    rc = watcher.loop()
    log.info("watch: stopped")
    return rc


def iter_entries(out_dir: str, ledger_dir: str = "") -> Iterator[dict]:
    """Every ledger entry under out_dir, or in ledger_dir (for tests and status scripts)."""
    ledger = Ledger(out_dir, ledger_dir)
    for name in ledger.names():
        entry = ledger.get(name)
        if entry:
            yield entry


if __name__ == "__main__":
    sys.exit(run())
