"""Cloud Function (2nd gen, Eventarc `google.cloud.storage.object.v1.finalized`): when a drop's
marker object `<drop>/_READY` (or `<drop>/_SUCCESS`, what Hadoop, Spark and Beam file sinks
write; the markers `newsnorm watch` accepts) is written to the bucket, launch the newsnorm Flex
Template for that drop.

The body of the launch request is built by a pure function (`launch_body`), unit-tested in
tests/test_deploy.py; only `on_object_finalized` talks to Google APIs. Event delivery is
at-least-once, so the launch must be idempotent: the job name is derived from the drop, and
Dataflow refuses a second active job with the same name; a drop already done is skipped by
`newsnorm run` itself (same input, same config: its manifest is left as it is).

Settings (environment variables, see deploy/README.md): NEWSNORM_TEMPLATE (gs:// path of the
template spec), NEWSNORM_OUTPUT (gs:// prefix; each drop goes to <prefix>/<drop>), PROJECT,
REGION, optional NEWSNORM_MARKER (comma-separated marker names, default _READY,_SUCCESS) and
NEWSNORM_PARAMETERS (JSON object of extra template parameters, e.g. {"sdk_container_image":
"...", "num_shards": "4"}).
"""

from __future__ import annotations

import hashlib
import json
import os
import re

MARKERS = ("_READY", "_SUCCESS")
LAUNCH_URL = ("https://dataflow.googleapis.com/v1b3/projects/{project}/locations/{region}"
              "/flexTemplates:launch")


def job_name_for(drop: str) -> str:
    """A valid Dataflow job name, the same for every event of one drop.

    >>> job_name_for("2026/11/25/AFP_Arabic drop#3")
    'newsnorm-2026-11-25-afp-arabic-drop-3-e510bd4c'
    >>> len(job_name_for("x" * 500)) <= 63
    True
    """
    slug = re.sub(r"[^a-z0-9]+", "-", drop.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(drop.encode("utf-8")).hexdigest()[:8]
    return f"newsnorm-{slug}-{digest}" if slug else f"newsnorm-{digest}"


def launch_body(bucket: str, name: str, *, template: str, output_prefix: str,
                marker: str | tuple[str, ...] = MARKERS,
                extra_parameters: dict | None = None) -> dict | None:
    """The flexTemplates:launch request for object gs://bucket/name, or None when that object
    is not a drop marker (every other object in the bucket also fires the trigger).

    The drop is the marker's directory; its output is <output_prefix>/<drop path>.
    """
    markers = (marker,) if isinstance(marker, str) else tuple(marker)
    if not name or name.rsplit("/", 1)[-1] not in markers or "/" not in name:
        return None
    drop_path = name.rsplit("/", 1)[0]
    parameters = {str(k): str(v) for k, v in (extra_parameters or {}).items()}
    parameters.update({
        "input": f"gs://{bucket}/{drop_path}",
        "output": f"{output_prefix.rstrip('/')}/{drop_path}",
    })
    return {"launchParameter": {
        "jobName": job_name_for(drop_path),
        "containerSpecGcsPath": template,
        "parameters": parameters,
    }}


def on_object_finalized(cloud_event) -> None:
    """Entry point (gcloud functions deploy ... --entry-point on_object_finalized)."""
    data = cloud_event.data
    body = launch_body(
        data["bucket"], data["name"],
        template=os.environ["NEWSNORM_TEMPLATE"],
        output_prefix=os.environ["NEWSNORM_OUTPUT"],
        marker=tuple(m.strip() for m in os.environ.get("NEWSNORM_MARKER", ",".join(MARKERS))
                     .split(",") if m.strip()),
        extra_parameters=json.loads(os.environ.get("NEWSNORM_PARAMETERS", "{}")))
    if body is None:
        return
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    url = LAUNCH_URL.format(project=os.environ["PROJECT"], region=os.environ["REGION"])
    response = AuthorizedSession(credentials).post(url, json=body, timeout=60)
    if response.status_code == 409:  # ALREADY_EXISTS: a duplicate event for a running job
        print(f"newsnorm: {body['launchParameter']['jobName']} already running; not launched again")
        return
    response.raise_for_status()  # any other error: the event is retried (--retry on deploy)
    job = response.json().get("job", {})
    print(f"newsnorm: launched {job.get('name')} ({job.get('id')}) for "
          f"{body['launchParameter']['parameters']['input']}")


try:  # registered as a CloudEvent function when functions-framework is installed (in GCP)
    import functions_framework

    on_object_finalized = functions_framework.cloud_event(on_object_finalized)
except ImportError:
    pass
