"""Helper processes for the benchmarks: the example backend and a local S3 endpoint.

The backend runs in its own process, as a real backend would, so it never competes with the
measured code for the GIL.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_SET = ROOT / "descriptors" / "library.binpb"


@contextlib.contextmanager
def example_backend() -> Iterator[str]:
    """Start the example backend in a child process; yields its `host:port`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "grpc_transcoder_tools.cli", "example-backend", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"the example backend did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback; yields its URL (also set as AWS_ENDPOINT_URL_S3)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
    }
    os.environ.update(
        AWS_ENDPOINT_URL_S3=url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
    )
    try:
        yield url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def upload(url: str, bucket: str, key: str, data: bytes) -> str:
    """Put `data` at s3://bucket/key on the local endpoint; returns the URI."""
    import boto3

    client = boto3.client("s3", endpoint_url=url)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"
