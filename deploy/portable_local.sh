#!/usr/bin/env bash
# The portable Job API without Flink or Spark: Beam's Python job service on this machine and
# LOOPBACK workers (user code runs in the submitting process). Works offline; use it to check
# that a change still runs through the portable runner path before trying a cluster.
# Usage: deploy/portable_local.sh INPUT OUTPUT
set -euo pipefail
INPUT="${1:?usage: portable_local.sh INPUT OUTPUT}"
OUTPUT="${2:?usage: portable_local.sh INPUT OUTPUT}"
PORT="${PORT:-18099}"
PYTHON="$(dirname "$(command -v newsnorm)")/python"
"$PYTHON" -m apache_beam.runners.portability.local_job_service_main --port "$PORT" &
JOB_SERVICE=$!
trap 'kill "$JOB_SERVICE"' EXIT
sleep 3  # the job service needs about a second to listen; a run before that waits and retries
# --job_server_timeout bounds the whole wait for the job, not only connecting (a run longer than
# it fails in the driver with DEADLINE_EXCEEDED). With EXTERNAL workers instead of LOOPBACK,
# see tests/test_cluster.py (python -m apache_beam.runners.worker.worker_pool_main).
newsnorm run --input "$INPUT" --output "$OUTPUT" --force \
  --runner=PortableRunner --job_endpoint="localhost:$PORT" --environment_type=LOOPBACK \
  --job_server_timeout="${JOB_TIMEOUT_S:-3600}"
newsnorm verify "$OUTPUT"
