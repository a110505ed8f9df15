#!/usr/bin/env bash
# Dataflow: build the image, build the Flex Template, launch it for one drop, and deploy the
# Cloud Function that launches it whenever a drop's _READY (or _SUCCESS) marker lands in the bucket.
# Needs: gcloud (authenticated), docker, a project with the Dataflow, Cloud Build, Artifact
# Registry, Eventarc and Cloud Functions APIs enabled, and the IAM roles in deploy/README.md.
# Usage (from the repository root):
#   PROJECT=my-proj REGION=europe-west1 BUCKET=my-bucket deploy/dataflow.sh image|template|run DROP|trigger
set -euo pipefail
: "${PROJECT:?set PROJECT}" "${REGION:?set REGION}" "${BUCKET:?set BUCKET}"
REPO="${REPO:-newsnorm}"
IMAGE="${IMAGE:-$REGION-docker.pkg.dev/$PROJECT/$REPO/newsnorm:$(git rev-parse --short HEAD)}"
TEMPLATE="${TEMPLATE:-gs://$BUCKET/templates/newsnorm.json}"
OUTPUT="${OUTPUT:-gs://$BUCKET/out}"

case "${1:-}" in
  image)
    docker build -f deploy/Dockerfile -t "$IMAGE" .
    docker push "$IMAGE"
    ;;
  template)
    gcloud dataflow flex-template build "$TEMPLATE" \
      --image "$IMAGE" --sdk-language PYTHON --metadata-file deploy/metadata.json
    ;;
  run)  # one drop by hand: deploy/dataflow.sh run drops/2026-11-25
    DROP="${2:?usage: dataflow.sh run DROP_PATH_IN_BUCKET}"
    gcloud dataflow flex-template run "newsnorm-$(date +%s)" \
      --project "$PROJECT" --region "$REGION" \
      --template-file-gcs-location "$TEMPLATE" \
      --parameters "input=gs://$BUCKET/$DROP,output=$OUTPUT/$DROP,sdk_container_image=$IMAGE"
    ;;
  trigger)
    gcloud functions deploy newsnorm-drop-ready --gen2 --runtime python311 \
      --project "$PROJECT" --region "$REGION" \
      --source deploy/cloud_function --entry-point on_object_finalized \
      --trigger-event-filters "type=google.cloud.storage.object.v1.finalized" \
      --trigger-event-filters "bucket=$BUCKET" \
      --retry \
      --set-env-vars "NEWSNORM_TEMPLATE=$TEMPLATE,NEWSNORM_OUTPUT=$OUTPUT,PROJECT=$PROJECT,REGION=$REGION" \
      --set-env-vars "^|^NEWSNORM_PARAMETERS={\"sdk_container_image\": \"$IMAGE\"}"
    ;;
  direct)  # no template: the driver runs here and blocks until the job is done
    DROP="${2:?usage: dataflow.sh direct DROP_PATH_IN_BUCKET}"
    newsnorm run --input "gs://$BUCKET/$DROP" --output "$OUTPUT/$DROP" \
      --runner=DataflowRunner --project="$PROJECT" --region="$REGION" \
      --temp_location="gs://$BUCKET/tmp" --sdk_container_image="$IMAGE"
    ;;
  *)
    echo "usage: $0 image|template|run DROP|trigger|direct DROP" >&2
    exit 2
    ;;
esac
