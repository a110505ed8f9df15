#!/usr/bin/env bash
# Spark through Beam's portable runner. Needs: a Spark 3 cluster; network access to Maven
# Central the first time (beam-runners-spark-3-job-server-2.77.0.jar); the image from
# deploy/Dockerfile pullable by every executor; input and output on a filesystem all workers can
# reach. Not exercisable on the offline build machine.
# Usage: SPARK_MASTER=spark://host:7077 IMAGE=... deploy/spark.sh INPUT OUTPUT
set -euo pipefail
: "${SPARK_MASTER:?set SPARK_MASTER (spark://host:7077)}" "${IMAGE:?set IMAGE}"
INPUT="${1:?usage: spark.sh INPUT OUTPUT}"
OUTPUT="${2:?usage: spark.sh INPUT OUTPUT}"
# Beam's portable runner bounds its whole wait for the job by --job_server_timeout (default 300 s),
# not only the connection: a longer job "fails" in the driver (DEADLINE_EXCEEDED, nothing
# published) while it goes on running in the cluster. Set it above the longest drop's run time.
JOB_TIMEOUT_S="${JOB_TIMEOUT_S:-21600}"

newsnorm run --input "$INPUT" --output "$OUTPUT" \
  --runner=SparkRunner --spark_master_url="$SPARK_MASTER" --spark_version=3 \
  --environment_type=DOCKER --environment_config="$IMAGE" --job_server_timeout="$JOB_TIMEOUT_S"

# Without a job server: build an uber jar and submit it through Spark's REST API instead:
#   newsnorm run --input "$INPUT" --output "$OUTPUT" --runner=SparkRunner \
#     --spark_submit_uber_jar --spark_rest_url="http://${SPARK_MASTER#spark://}:6066" \
#     --environment_type=DOCKER --environment_config="$IMAGE"
