"""s3_signed: SigV4 signatures (against AWS's published example and botocore's signer), the
choice of client, addressing, retries and region redirects against a real HTTP server."""

from __future__ import annotations

import calendar
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from grpc_transcoder.loading import s3_signed
from grpc_transcoder.loading.s3_signed import Credentials, SignedClient
from tests.conftest import LIBRARY_SET, ROOT
from tests.event_builder import Source, build

EXAMPLE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
WHEN = calendar.timegm((2013, 5, 24, 0, 0, 0))
LAMBDA_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "AKID",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
    "AWS_REGION": "eu-west-1",
}


def test_the_signature_of_aws_published_example() -> None:
    """'GET Object' in the S3 API reference's SigV4 header-based examples."""
    headers = s3_signed.sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        "",
        {"Range": "bytes=0-9"},
        credentials=EXAMPLE,
        region="us-east-1",
        when=WHEN,
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@pytest.mark.parametrize(
    ("key", "query", "extra", "token"),
    [
        pytest.param("api.binpb", {}, {}, "", id="key"),
        pytest.param("sets/a b+c/ü~.binpb", {}, {}, "", id="escaped-key"),
        pytest.param("api.binpb", {"versionId": "3/L4kqtJl+x=="}, {}, "tok/en==", id="version"),
        pytest.param("api.binpb", {}, {"if-none-match": '"abc"'}, "", id="if-none-match"),
        pytest.param(
            "",
            {"list-type": "2", "prefix": "sets/", "continuation-token": "1/a=="},
            {},
            "",
            id="list",
        ),
    ],
)
def test_signatures_agree_with_botocore(
    key: str, query: dict[str, str], extra: dict[str, str], token: str
) -> None:
    client = SignedClient(Credentials("AKID", "secret/key", token), "eu-west-1")
    scheme, host, path = client._address("eu-west-1", "descriptor-sets", key)
    query_text = s3_signed.canonical_query(query)
    ours = s3_signed.sign(
        "GET", host, path, query_text, extra, credentials=client.credentials, region="eu-west-1",
        when=WHEN,
    )  # fmt: skip
    url = f"{scheme}://{host}{path}" + (f"?{query_text}" if query_text else "")
    request = AWSRequest(
        method="GET", url=url, headers={k: v for k, v in ours.items() if k != "authorization"}
    )
    request.context["timestamp"] = ours["x-amz-date"]
    signer = S3SigV4Auth(
        BotocoreCredentials("AKID", "secret/key", token or None), "s3", "eu-west-1"
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert ours["authorization"].endswith(f"Signature={expected}")


@pytest.mark.parametrize(
    ("bucket", "region", "expected"),
    [
        pytest.param("sets", "eu-west-1", ("sets.s3.eu-west-1.amazonaws.com", "/a/b"), id="vhost"),
        pytest.param("my.sets", "eu-west-1", ("s3.eu-west-1.amazonaws.com", "/my.sets/a/b"), id="dots"),
        pytest.param("sets", "cn-north-1", ("sets.s3.cn-north-1.amazonaws.com.cn", "/a/b"), id="cn"),
    ],
)  # fmt: skip
def test_aws_addresses(bucket: str, region: str, expected: tuple[str, str]) -> None:
    client = SignedClient(EXAMPLE, region)
    assert client._address(region, bucket, "a/b") == ("https", *expected)


def test_a_custom_endpoint_is_addressed_by_path() -> None:
    client = SignedClient(EXAMPLE, "us-east-1", endpoint="http://127.0.0.1:9000/s3")
    assert client._address("us-east-1", "sets", "a b") == (
        "http",
        "127.0.0.1:9000",
        "/s3/sets/a%20b",
    )
    assert client._address("us-east-1", "sets", "") == ("http", "127.0.0.1:9000", "/s3/sets")


@pytest.mark.parametrize(
    ("changes", "chosen"),
    [
        pytest.param({}, True, id="lambda"),
        pytest.param({"AWS_SESSION_TOKEN": None}, True, id="long-term-keys"),
        pytest.param({"AWS_ACCESS_KEY_ID": None}, False, id="no-keys"),
        pytest.param({"AWS_REGION": None}, False, id="no-region"),
        pytest.param({"AWS_REGION": None, "AWS_DEFAULT_REGION": "eu-west-1"}, True, id="default"),
        pytest.param({"HTTPS_PROXY": "http://proxy:3128"}, False, id="proxy"),
        pytest.param({"AWS_USE_FIPS_ENDPOINT": "true"}, False, id="fips"),
        pytest.param({"AWS_REGION": "us-iso-east-1"}, False, id="iso-partition"),
        pytest.param({"AWS_MAX_ATTEMPTS": "many"}, False, id="bad-attempts"),
    ],
)
def test_the_signed_client_is_chosen_only_where_it_does_what_botocore_would(
    changes: dict[str, str | None], chosen: bool
) -> None:
    environ = {**LAMBDA_ENVIRONMENT, **changes}
    found = s3_signed.from_environment(
        {k: v for k, v in environ.items() if v is not None}, connect_timeout=3, read_timeout=10
    )
    assert (found is not None) is chosen


@pytest.mark.parametrize(
    ("changes", "attempts"),
    [
        pytest.param({}, 3, id="standard"),
        pytest.param({"AWS_RETRY_MODE": "legacy"}, 5, id="legacy"),
        pytest.param({"AWS_MAX_ATTEMPTS": "1"}, 1, id="setting"),
    ],
)
def test_attempts_and_timeouts_follow_the_sdk_settings(
    changes: dict[str, str], attempts: int
) -> None:
    environ = {**LAMBDA_ENVIRONMENT, **changes, "AWS_ENDPOINT_URL": "http://127.0.0.1:1/"}
    client = s3_signed.from_environment(environ, connect_timeout=3, read_timeout=10)
    assert client is not None
    assert (client.max_attempts, client.connect_timeout, client.read_timeout) == (attempts, 3, 10)
    assert (client.endpoint, client.credentials.token) == ("http://127.0.0.1:1", "token")


class FakeS3(http.server.BaseHTTPRequestHandler):
    """Answers from a script: each request takes the next (status, headers, body)."""

    script: list[tuple[int, dict[str, str], bytes]]
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        status, headers, body = self.script.pop(0)
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_s3() -> Iterator[tuple[str, type[FakeS3]]]:
    handler = type("Scripted", (FakeS3,), {"script": [], "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _client(endpoint: str, **changes: Any) -> SignedClient:
    values: dict[str, Any] = {"endpoint": endpoint, "connect_timeout": 2, "read_timeout": 2}
    return SignedClient(EXAMPLE, "us-east-1", **{**values, **changes})


def test_throttling_and_server_errors_are_retried(fake_s3: tuple[str, type[FakeS3]]) -> None:
    endpoint, server = fake_s3
    slow_down = b"<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>"
    server.script[:] = [(503, {}, slow_down), (500, {}, b""), (200, {"ETag": '"e1"'}, b"set")]
    assert _client(endpoint).get_object("sets", "api.binpb") == (b"set", '"e1"')
    assert len(server.seen) == 3


def test_the_last_error_is_raised_in_botocore_shape(fake_s3: tuple[str, type[FakeS3]]) -> None:
    endpoint, server = fake_s3
    slow_down = b"<Error><Code>SlowDown</Code><Message>Slow &amp; steady</Message></Error>"
    server.script[:] = [(503, {}, slow_down)] * 2
    with pytest.raises(s3_signed.S3ResponseError) as raised:
        _client(endpoint, max_attempts=2).get_object("sets", "api.binpb")
    assert raised.value.response == {
        "Error": {"Code": "SlowDown", "Message": "Slow & steady"},
        "ResponseMetadata": {"HTTPStatusCode": 503},
    }


def test_client_errors_are_not_retried(fake_s3: tuple[str, type[FakeS3]]) -> None:
    endpoint, server = fake_s3
    server.script[:] = [(403, {}, b"")]
    with pytest.raises(s3_signed.S3ResponseError) as raised:
        _client(endpoint).get_object("sets", "api.binpb")
    assert raised.value.response["Error"] == {"Code": "403", "Message": "Forbidden"}
    assert len(server.seen) == 1


def test_a_bucket_in_another_region_is_followed_once_and_remembered(
    fake_s3: tuple[str, type[FakeS3]],
) -> None:
    endpoint, server = fake_s3
    moved = (301, {"x-amz-bucket-region": "eu-central-1"}, b"<Error><Code>PermanentRedirect")
    server.script[:] = [moved, (200, {}, b"one"), (200, {}, b"two")]
    client = _client(endpoint)
    assert client.get_object("sets", "a")[0:1] == (b"one",)  # type: ignore[index]
    assert client.get_object("sets", "b")[0:1] == (b"two",)  # type: ignore[index]
    regions = [seen["authorization"].split("/")[2] for seen in server.seen]
    assert regions == ["us-east-1", "eu-central-1", "eu-central-1"]


def test_not_modified_and_versions(fake_s3: tuple[str, type[FakeS3]]) -> None:
    endpoint, server = fake_s3
    server.script[:] = [(304, {}, b"")]
    assert _client(endpoint).get_object("sets", "k", version_id="v 1", if_none_match='"e"') is None
    (seen,) = server.seen
    assert (seen["path"], seen["if-none-match"]) == ("/sets/k?versionId=v%201", '"e"')
    assert "if-none-match" in seen["authorization"]


def test_a_listing_follows_continuation_tokens(fake_s3: tuple[str, type[FakeS3]]) -> None:
    endpoint, server = fake_s3
    namespace = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    first = (
        f"<ListBucketResult {namespace}><IsTruncated>true</IsTruncated>"
        "<Contents><Key>sets/a</Key><ETag>&quot;1&quot;</ETag></Contents>"
        "<NextContinuationToken>t/1=</NextContinuationToken></ListBucketResult>"
    )
    second = (
        f"<ListBucketResult {namespace}><IsTruncated>false</IsTruncated>"
        "<Contents><Key>sets/b</Key><ETag>&quot;2&quot;</ETag></Contents></ListBucketResult>"
    )
    server.script[:] = [(200, {}, first.encode()), (200, {}, second.encode())]
    assert _client(endpoint).list_keys("sets", "sets/") == {"sets/a": '"1"', "sets/b": '"2"'}
    assert server.seen[1]["path"] == (
        f"/sets?continuation-token={quote('t/1=', safe='')}&list-type=2&prefix=sets%2F"
    )


def test_a_dead_endpoint_fails_after_its_attempts() -> None:
    client = _client("http://127.0.0.1:9", max_attempts=2)
    with pytest.raises(ConnectionRefusedError):
        client.get_object("sets", "api.binpb")


def test_a_cold_start_from_s3_in_lambdas_environment_never_imports_botocore(
    s3: Any, backend: Any
) -> None:
    s3.create_bucket(Bucket="cold-start")
    s3.put_object(Bucket="cold-start", Key="library.binpb", Body=LIBRARY_SET.read_bytes())
    script = (
        "import sys, json\n"
        "from grpc_transcoder.lambda_handler import handler\n"
        "answer = handler(json.loads(sys.stdin.read()), None)\n"
        "print(json.dumps([answer['statusCode'], 'botocore' in sys.modules]))\n"
    )
    event = build(Source.HTTP_API, "GET", "/v1/shelves/fiction")
    environ = {k: v for k, v in os.environ.items() if k not in s3_signed.BOTOCORE_ONLY}
    environ.update(
        TRANSCODER_DESCRIPTORS="s3://cold-start/library.binpb",
        TRANSCODER_BACKENDS=backend.target,
        TRANSCODER_LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status, botocore_loaded = json.loads(done.stdout.splitlines()[-1])
    assert status == 200
    assert botocore_loaded is False
