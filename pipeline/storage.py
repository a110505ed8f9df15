"""Object stores (gs://, s3://): what `newsnorm run`, `verify` and `watch` need beyond Beam's
FileSystems.

Owns: checking a remote path before Beam starts (the extra installed, credentials found, the
bucket there), each failure one line; listing and deleting a "directory" (a key prefix: object
stores have no directories, so Beam's `exists`/`delete` on a prefix find nothing); and handing
Beam's filesystem options (`--s3_endpoint_url`, ...) to the driver's own FileSystems calls.
docs/storage.md says which object-store guarantees the pipeline relies on.
"""

from __future__ import annotations

import os
from typing import Sequence

# scheme -> (pip extra, what Beam needs installed for it)
EXTRAS = {"gs": "gcp", "s3": "aws"}


class StorageError(Exception):
    """A remote path that cannot be used: one line for the user, before Beam starts."""


def scheme(path: str) -> str:
    """>>> scheme("gs://b/x"), scheme("S3://b"), scheme("/tmp/x"), scheme("C:/x")
    ('gs', 's3', '', '')
    """
    head, sep, _ = path.partition("://")
    return head.lower() if sep and "/" not in head else ""


def split_bucket(path: str) -> tuple[str, str]:
    """>>> split_bucket("gs://bucket/a/b/"), split_bucket("s3://bucket")
    (('bucket', 'a/b/'), ('bucket', ''))
    """
    rest = path.partition("://")[2]
    bucket, _, key = rest.partition("/")
    return bucket, key


def set_filesystem_options(beam_args: Sequence[str]):
    """Beam's options from the command line, also for FileSystems calls made outside a
    pipeline (listing the drop, the manifest, verify): Beam only sets them when a Pipeline
    is built, and `--s3_endpoint_url` & co. must apply before that."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(list(beam_args))
    FileSystems.set_options(options)
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        _gcs_emulator_needs_no_credentials()
    return options


def check_remote(paths: Sequence[str], options) -> None:
    """Raise StorageError (one line) for the first remote path whose filesystem is not
    installed, whose credentials are missing or whose bucket does not exist."""
    checked: set[tuple[str, str]] = set()
    for path in paths:
        s = scheme(path)
        if not s:
            continue
        _check_installed(path, s)
        bucket = split_bucket(path)[0]
        if (s, bucket) in checked:
            continue
        checked.add((s, bucket))
        if s == "gs":
            _check_gcs(bucket, options)
        elif s == "s3":
            _check_s3(bucket, options)


def _check_installed(path: str, s: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    try:
        FileSystems.get_filesystem(path)
    except ValueError:
        extra = EXTRAS.get(s)
        hint = (f"install the {extra} extra: pip install 'newsnorm[{extra}]'" if extra
                else "no Beam filesystem is installed for it")
        raise StorageError(f"{s}:// paths need Beam's {s} filesystem, which is not "
                           f"installed: {hint}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


# --- Google Cloud Storage ------------------------------------------------------------------------

def _gcs_emulator_needs_no_credentials() -> None:
    """With STORAGE_EMULATOR_HOST set, google-cloud-storage itself connects anonymously
    (Client(): "authentication may be bypassed ... STORAGE_EMULATOR_HOST is set"), but Beam
    2.77 still looks for Application Default Credentials first, with 4 retries (~30 s per
    process) before it falls back to the same anonymous client. Tell Beam's credential cache
    there are none, as the client library would. Private API: if it moves, only the wait
    comes back."""
    try:
        from apache_beam.internal.gcp import auth
    except ImportError:  # no gcp extra: nothing to tell
        return
    creds = getattr(auth, "_Credentials", None)
    if creds is None or not hasattr(creds, "_credentials_init"):
        return
    with creds._credentials_lock:
        creds._credentials = None
        creds._credentials_init = True


def _check_gcs(bucket: str, options) -> None:
    if not os.environ.get("STORAGE_EMULATOR_HOST"):
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            google.auth.default()
        except DefaultCredentialsError:
            raise StorageError(
                f"no Google Cloud credentials for gs://{bucket}: run `gcloud auth "
                "application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
                "service-account key file") from None
    from apache_beam.io.gcp.gcsio import GcsIO
    from google.api_core.exceptions import Forbidden

    try:
        found = GcsIO(pipeline_options=options).get_bucket(bucket)
    except Forbidden:
        # The bucket exists; these credentials may use its objects without reading the
        # bucket's metadata (roles/storage.objectAdmin has no storage.buckets.get). The
        # output's write probe and the listing of the drop say what they cannot do.
        return
    except Exception as exc:  # noqa: BLE001 - unreachable, ...: one line
        raise StorageError(f"cannot use bucket gs://{bucket}: {_first_line(exc)}") from None
    if found is None:
        raise StorageError(f"bucket gs://{bucket} does not exist (or these credentials "
                           "cannot see it)")


# --- S3 ----------------------------------------------------------------------------------------

def _check_s3(bucket: str, options) -> None:
    from apache_beam.options.pipeline_options import S3Options

    s3 = options.view_as(S3Options)
    if not s3.s3_access_key_id:
        import boto3

        if boto3.session.Session().get_credentials() is None:
            raise StorageError(
                f"no AWS credentials for s3://{bucket}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or pass --s3_access_key_id and "
                "--s3_secret_access_key")
    from apache_beam.io.aws.clients.s3.boto3_client import Client

    try:
        Client(options).client.head_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001 - mapped to one line below
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise StorageError(f"bucket s3://{bucket} does not exist") from None
        if code in ("403", "AccessDenied"):
            raise StorageError(f"access denied to bucket s3://{bucket} with these "
                               "credentials") from None
        raise StorageError(f"cannot use bucket s3://{bucket}: {_first_line(exc)}") from None


# --- prefixes ------------------------------------------------------------------------------------

def list_tree(path: str) -> list:
    """Metadata of the object `path` itself and of every object under `path/` (a directory
    on a local disk; a key prefix on an object store)."""
    from apache_beam.io.filesystems import FileSystems

    base = path.rstrip("/")
    found = {}
    for pattern in (base, base + "/**"):
        try:
            metas = FileSystems.match([pattern])[0].metadata_list
        except Exception:  # noqa: BLE001 - Beam raises for a non-glob path that is absent
            metas = []
        for m in metas:
            if m.path == base or m.path.startswith(base + "/"):
                found[m.path] = m
    return [found[k] for k in sorted(found)]


def delete_tree(path: str) -> int:
    """Delete the object `path` and every object under `path/`; returns how many."""
    from apache_beam.io.filesystems import FileSystems

    paths = [m.path for m in list_tree(path)]
    if paths:
        FileSystems.delete(paths)
    return len(paths)
