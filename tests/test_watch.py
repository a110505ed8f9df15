"""`newsnorm watch`: drops processed exactly once across a SIGKILL and restarts.

The end-to-end test runs the real watcher and the real `newsnorm run` as subprocesses; the
small tests drive the scan logic in-process with a fake clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline import watch
from pipeline.manifest import verify
from tests.conftest import REPO, newsnorm_cmd, run_cli

# Generous limits for a shared 2-core machine: they only stop a hung test, they time nothing.
WAIT_S = 240


def make_articles(drop: str, n: int) -> list[str]:
    ids = [f"{drop}-{i}" for i in range(n)]
    return [json.dumps({"id": i, "url": f"https://example.org/{i}", "source": "Test Wire",
                        "title": f"Council approves budget {i}",
                        "body": f"The council approved the budget on Monday, item {i}.\n\n"
                                "The vote was 7 to 2 after a short debate."}) for i in ids]


def add_drop(root: Path, name: str, n: int, ready: bool) -> list[str]:
    """A producer writing a drop: data first, the marker last."""
    d = root / name
    d.mkdir()
    lines = make_articles(name, n)
    (d / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if ready:
        (d / "_READY").write_text("")
    return [json.loads(x)["id"] for x in lines]


def ledger(out: Path, name: str) -> dict:
    path = out / "_ledger" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wait_for(pred, what: str, procs=()):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        for p in procs:
            assert p.poll() is None, f"watcher exited ({p.returncode}) while waiting for {what}"
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_watcher(inp: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(newsnorm_cmd() + ["watch", "--input", str(inp), "--output", str(out),
                                              "--poll_s", "0.2", *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "\nState:\tZ" not in fh.read()
    except FileNotFoundError:
        return False


@pytest.mark.slow  # kill-and-restart, 21 s under load
@pytest.mark.timeout(600)
def test_three_drops_sigkill_restart_each_processed_exactly_once(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    ids = {"d1": add_drop(inp, "d1", 3, ready=True)}
    logs = []

    w1 = start_watcher(inp, out)
    try:
        wait_for(lambda: ledger(out, "d1").get("state") == "running", "d1 running", [w1])
        # d2 arrives complete while d1 runs; d3 arrives without its marker.
        ids["d2"] = add_drop(inp, "d2", 4, ready=True)
        ids["d3"] = add_drop(inp, "d3", 2, ready=False)
        wait_for(lambda: ledger(out, "d1").get("state") == "done", "d1 done", [w1])
        # Kill the watcher in the middle of d2: its run has started (child pid recorded).
        entry = wait_for(lambda: (lambda e: e if e.get("state") == "running" and
                                  e["attempts"][-1].get("child_pid") else None)(ledger(out, "d2")),
                         "d2 running", [w1])
        assert ledger(out, "d3")["state"] == "seen"  # no marker: never started
        w1.send_signal(signal.SIGKILL)
        w1.wait(timeout=30)
    finally:
        if w1.poll() is None:
            w1.kill()
        logs.append(w1.communicate()[1])
    child = entry["attempts"][-1]["child_pid"]
    wait_for(lambda: not pid_alive(child), "the orphaned run of d2 to die with its watcher")
    assert ledger(out, "d2")["state"] == "running"          # what a dead watcher leaves
    assert not (out / "d2" / "manifest.json").exists()       # and no output that looks complete
    assert not (out / "d3").exists()

    # Restart: d2 is rerun. d3's marker arrives during that run; SIGTERM then stops the watcher
    # after the current drop, before d3.
    w2 = start_watcher(inp, out)
    try:
        wait_for(lambda: len(ledger(out, "d2")["attempts"]) == 2 and
                 ledger(out, "d2")["state"] == "running", "d2 rerun", [w2])
        (inp / "d3" / "_READY").write_text("")
        w2.send_signal(signal.SIGTERM)
        assert w2.wait(timeout=WAIT_S) == 0
    finally:
        if w2.poll() is None:
            w2.kill()
        logs.append(w2.communicate()[1])
    assert ledger(out, "d2")["state"] == "done"
    assert ledger(out, "d3")["state"] in ("seen", "ready")

    # A cron-style run picks up d3; one more finds nothing to do.
    for _ in range(2):
        proc = run_cli("watch", "--input", str(inp), "--output", str(out), "--once",
                       timeout=WAIT_S)
        assert proc.returncode == 0, proc.stderr
        logs.append(proc.stderr)
    assert "running" not in logs[-1]

    all_logs = "\n".join(logs)
    for name, want_ids in ids.items():
        entry = ledger(out, name)
        assert entry["state"] == "done", (name, entry)
        done = [a for a in entry["attempts"] if a["result"] == "done"]
        assert len(done) == 1, (name, entry["attempts"])
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["run"]["run_id"] == done[0]["run_id"]
        assert not done[0]["skipped_already_done"]
        assert verify(str(out / name)) == []
        assert manifest["counts"]["read"] == len(want_ids)
        written = [json.loads(x)["id"] for x in
                   (out / name / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()]
        assert sorted(written) == sorted(want_ids)
        assert all_logs.count(f"drop {name!r} done") == 1, all_logs
        assert (out / "_ledger" / f"{name}.log").read_text().count("=== attempt") == \
            len(entry["attempts"])
    assert [a["result"] for a in ledger(out, "d1")["attempts"]] == ["done"]
    assert [a["result"] for a in ledger(out, "d2")["attempts"]] == ["interrupted", "done"]
    assert [a["result"] for a in ledger(out, "d3")["attempts"]] == ["done"]
    assert "SIGTERM received; stopping after the current drop" in logs[1]
    assert not (out / "d2" / "_staging").exists()


def test_failing_drop_is_retried_then_parked(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    (inp / "empty").mkdir(parents=True)
    (inp / "empty" / "_READY").write_text("")   # a marker but no input: `newsnorm run` exits 2
    proc = run_cli("watch", "--input", str(inp), "--output", str(out), "--once",
                   "--max_attempts", "2", "--backoff_s", "0", timeout=WAIT_S)
    assert proc.returncode == 1, proc.stderr
    entry = ledger(out, "empty")
    assert entry["state"] == "parked"
    assert [a["result"] for a in entry["attempts"]] == ["failed", "failed"]
    assert "no input files" in entry["error"]
    assert "drop 'empty' parked" in proc.stderr
    assert not (out / "empty" / "manifest.json").exists()


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_watcher(tmp_path, **kw) -> tuple[watch.Watcher, FakeClock, Path]:
    inp = tmp_path / "in"
    inp.mkdir(exist_ok=True)
    clock = FakeClock()
    cfg = watch.WatchConfig(input=str(inp), output=str(tmp_path / "out"), **kw)
    return watch.Watcher(cfg, clock=clock), clock, inp


def test_settle_time_completes_a_drop_without_marker_across_restarts(tmp_path):
    w, clock, inp = make_watcher(tmp_path, settle_s=10)
    (inp / "feed.jsonl").write_text("{}\n")
    assert w.scan() == []
    assert ledger(tmp_path / "out", "feed.jsonl")["state"] == "seen"
    clock.t += 6
    assert w.scan() == []
    # The producer writes more: the settle clock starts again.
    with open(inp / "feed.jsonl", "a") as fh:
        fh.write("{}\n")
    os.utime(inp / "feed.jsonl", ns=(1, 2))
    assert w.scan() == []
    clock.t += 9
    assert w.scan() == []
    # A new watcher (cron: watch --once) continues from the ledger's signature.
    w2 = watch.Watcher(w.cfg, clock=clock)
    clock.t += 1
    assert [e["drop"] for e in w2.scan()] == ["feed.jsonl"]
    assert ledger(tmp_path / "out", "feed.jsonl")["completed_by"] == "unchanged for 10 s"


def test_markers_hidden_names_and_output_inside_input_are_not_drops(tmp_path):
    w, clock, inp = make_watcher(tmp_path)
    (inp / "a").mkdir()
    (inp / "a" / "x.jsonl").write_text("{}\n")
    (inp / "b.jsonl").write_text("{}\n")
    (inp / "b.jsonl.ready").write_text("")
    (inp / "_tmp").mkdir()
    (inp / ".c.jsonl").write_text("{}\n")
    w.cfg.output = str(inp / "out")
    os.makedirs(w.cfg.output)
    w.ledger = watch.Ledger(w.cfg.output)
    assert [d.name for d in watch.find_drops(str(inp), skip=[w.cfg.output])] == ["a", "b.jsonl"]
    assert [e["drop"] for e in w.scan()] == ["b.jsonl"]     # a has no _READY yet
    (inp / "a" / "_READY").write_text("")
    clock.t += 1
    assert [e["drop"] for e in w.scan()] == ["b.jsonl", "a"]  # oldest ready first


def test_running_entry_at_startup_is_interrupted_then_parked_after_max_attempts(tmp_path):
    w, clock, inp = make_watcher(tmp_path, max_attempts=2)
    led = w.ledger
    led.put({"drop": "x", "path": str(inp / "x"), "kind": "dir", "state": "running",
             "attempts": [{"attempt": 1, "started": 1.0}]})
    w.recover()
    e = led.get("x")
    assert e["state"] == "failed" and e["next_retry"] == clock.t
    assert e["attempts"][0]["result"] == "interrupted"
    e["state"] = "running"
    e["attempts"].append({"attempt": 2, "started": 2.0})
    led.put(e)
    w.recover()
    e = led.get("x")
    assert e["state"] == "parked" and "watcher died" in e["error"]
    w.cfg.retry_parked = True
    w.recover()
    e = led.get("x")
    assert e["state"] == "ready" and len(e["attempts"]) == 2 and watch.failures_of(e) == 0


def test_corrupt_ledger_entry_is_kept_aside_and_the_drop_treated_as_new(tmp_path):
    w, _, _ = make_watcher(tmp_path)
    (Path(w.ledger.dir) / "x.json").write_text('{"drop": "x", "sta')
    assert w.ledger.get("x") is None
    assert len(list(Path(w.ledger.dir).glob("x.json.corrupt-*"))) == 1


def test_atomic_write_leaves_no_temp_file(tmp_path):
    path = tmp_path / "e.json"
    watch.write_json_atomic(str(path), {"a": 1})
    watch.write_json_atomic(str(path), {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["e.json"]


@pytest.mark.parametrize("argv, run_args", [
    (["--input", "i", "--output", "o"], ()),
    (["--input", "i", "--output", "o", "--runner", "FnApiRunner", "--num_shards", "2"],
     ("--runner", "FnApiRunner", "--num_shards", "2")),
    (["--input", "i", "--output", "o", "--once", "--", "--direct_num_workers", "2"],
     ("--direct_num_workers", "2")),
])
def test_unknown_args_and_args_after_double_dash_go_to_run(argv, run_args):
    cfg = watch.config_from_argv(argv)
    assert cfg.run_args == run_args
    w = watch.Watcher.__new__(watch.Watcher)
    w.cfg = cfg
    cmd = w.run_command({"path": "/drops/d", "drop": "d"})
    assert cmd[-len(run_args) - 4:] == ["--input", "/drops/d", "--output", os.path.join("o", "d"),
                                         *run_args]


def test_input_or_output_in_passthrough_is_refused():
    with pytest.raises(SystemExit, match="--input is set by the watcher"):
        watch.config_from_argv(["--input", "i", "--output", "o", "--", "--input=x"])


class SleepyWatcher(watch.Watcher):
    """The real process() around a stand-in child that sleeps instead of running a drop."""

    def run_command(self, entry):
        return [sys.executable, "-c", "import time; time.sleep(60)"]


def _ready_entry(w: watch.Watcher, inp: Path) -> dict:
    (inp / "d").mkdir()
    (inp / "d" / "_READY").write_text("")
    (entry,) = w.scan()
    return entry


def test_second_signal_stops_the_running_drop_without_counting_a_failure(tmp_path):
    w, _, inp = make_watcher(tmp_path)
    w.__class__ = SleepyWatcher
    entry = _ready_entry(w, inp)

    def signal_twice():
        wait_for(lambda: w.child is not None, "child started")
        w.request_stop(signal.SIGTERM, None)
        assert w.child.poll() is None          # the first signal lets the drop go on
        w.request_stop(signal.SIGTERM, None)

    t = threading.Thread(target=signal_twice)
    t.start()
    w.process(entry)
    t.join()
    e = w.ledger.get("d")
    assert e["state"] == "ready" and [a["result"] for a in e["attempts"]] == ["stopped"]
    assert watch.failures_of(e) == 0


def test_run_timeout_kills_the_run_and_counts_a_failure(tmp_path):
    w, _, inp = make_watcher(tmp_path, run_timeout_s=0.5, backoff_s=30)
    w.__class__ = SleepyWatcher
    entry = _ready_entry(w, inp)
    w.process(entry)
    e = w.ledger.get("d")
    assert e["state"] == "failed" and "timed out after 0.5 s" in e["error"]
    assert e["next_retry"] == w.clock() + 30
    assert not pid_alive(e["attempts"][0]["child_pid"])
