#!/usr/bin/env bash
# Flink through Beam's portable runner. Needs: a Flink cluster whose minor version matches
# --flink_version (1.19, 1.20, 2.0, 2.1 or 2.2 with Beam 2.77); network access to Maven Central
# the first time (Beam downloads beam-runners-flink-<ver>-job-server-2.77.0.jar); the image from
# deploy/Dockerfile pullable by every task manager; input and output on a filesystem all workers
# can reach (gs://, s3:// or a shared mount). Not exercisable on the offline build machine.
# Usage: FLINK_MASTER=host:8081 IMAGE=... deploy/flink.sh INPUT OUTPUT
set -euo pipefail
: "${FLINK_MASTER:?set FLINK_MASTER (host:port of the JobManager REST API)}" "${IMAGE:?set IMAGE}"
INPUT="${1:?usage: flink.sh INPUT OUTPUT}"
OUTPUT="${2:?usage: flink.sh INPUT OUTPUT}"
# Beam's portable runner bounds its whole wait for the job by --job_server_timeout (default 300 s),
# not only the connection: a longer job "fails" in the driver (DEADLINE_EXCEEDED, nothing
# published) while it goes on running in the cluster. Set it above the longest drop's run time.
JOB_TIMEOUT_S="${JOB_TIMEOUT_S:-21600}"

# Easy path: Beam starts the job server itself and submits to the cluster.
newsnorm run --input "$INPUT" --output "$OUTPUT" \
  --runner=FlinkRunner --flink_master="$FLINK_MASTER" --flink_version="${FLINK_VERSION:-1.19}" \
  --environment_type=DOCKER --environment_config="$IMAGE" --job_server_timeout="$JOB_TIMEOUT_S"

# Manual path (job server run by you, e.g. docker run --net=host apache/beam_flink1.19_job_server:2.77.0
# --flink-master="$FLINK_MASTER"), then:
#   newsnorm run --input "$INPUT" --output "$OUTPUT" --runner=PortableRunner \
#     --job_endpoint=localhost:8099 --environment_type=DOCKER --environment_config="$IMAGE" \
#     --job_server_timeout="$JOB_TIMEOUT_S"
