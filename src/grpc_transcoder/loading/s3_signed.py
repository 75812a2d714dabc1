"""S3 over signed HTTPS: GetObject and ListObjectsV2 with SigV4 and the standard library.

Input: the AWS environment Lambda gives every function (the role's keys in AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, the region in AWS_REGION) and S3 locations.
Output: objects' bytes and ETags, and the keys under a prefix.

Reading a descriptor set is one signed GET. Done with `hmac`, `hashlib` and `http.client`, a
cold start neither imports botocore (about 85 ms) nor builds its S3 client (about 55 ms, most
of it loading the service model and endpoint rules). `from_environment` accepts only the
environment this covers exactly; anything else (credentials from a profile, SSO, a container
or instance endpoint, a proxy, FIPS or dual-stack endpoints, an ISO partition) is left to
botocore, which `loading.s3` then uses.

Errors carry botocore's `response` shape (`Error.Code`, `Error.Message`,
`ResponseMetadata.HTTPStatusCode`), so that both clients are described the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import http.client
import random
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
NOT_MODIFIED = 304
# Settings only botocore understands: with any of them set, botocore reads S3.
BOTOCORE_ONLY = (
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIED_CODES = frozenset({"SlowDown", "Throttling", "RequestTimeout", "InternalError"})
MAX_BACKOFF_SECONDS = 1.0
_VIRTUAL_HOSTABLE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_ISO_PARTITION = re.compile(r"^(us-iso|eu-isoe)")


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str = ""


class S3ResponseError(Exception):
    """An S3 error answer, in botocore's `response` shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def from_environment(
    environ: Mapping[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
) -> SignedClient | None:
    """The client for this environment, or None when botocore must read S3 instead."""
    access_key = environ.get("AWS_ACCESS_KEY_ID", "")
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "")
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
    if not (access_key and secret_key and region) or _ISO_PARTITION.match(region):
        return None
    if any(environ.get(name) for name in BOTOCORE_ONLY):
        return None
    mode = environ.get("AWS_RETRY_MODE") or "standard"
    try:
        attempts = int(environ.get("AWS_MAX_ATTEMPTS") or (5 if mode == "legacy" else 3))
    except ValueError:
        return None  # botocore reports the bad value
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or ""
    return SignedClient(
        Credentials(access_key, secret_key, environ.get("AWS_SESSION_TOKEN", "")),
        region,
        endpoint=endpoint.rstrip("/"),
        max_attempts=max(1, attempts),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        ca_bundle=environ.get("AWS_CA_BUNDLE", ""),
    )


@dataclass
class SignedClient:
    """GetObject and ListObjectsV2 for one set of credentials, with botocore's semantics:
    "standard" retries (throttling, 5xx and broken connections), a bucket in another region
    followed once, path-style addressing for a custom endpoint (as S3-compatible servers
    expect) and virtual-hosted style on AWS."""

    credentials: Credentials
    region: str
    endpoint: str = ""
    max_attempts: int = 3
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    ca_bundle: str = ""  # AWS_CA_BUNDLE: the certificates to trust instead of the system's
    clock: Callable[[], float] = time.time
    _regions: dict[str, str] = field(default_factory=dict)  # bucket -> region S3 named
    _connections: dict[tuple[str, str], http.client.HTTPConnection] = field(default_factory=dict)
    _tls: ssl.SSLContext | None = None

    def get_object(
        self, bucket: str, key: str, *, version_id: str = "", if_none_match: str = ""
    ) -> tuple[bytes, str] | None:
        """The object's bytes and ETag; None when `if_none_match` still matches (304)."""
        query = {"versionId": version_id} if version_id else {}
        headers = {"if-none-match": if_none_match} if if_none_match else {}
        answer = self._request(bucket, key, query, headers, allowed=(200, 304))
        if answer.status == NOT_MODIFIED:
            return None
        return answer.body, answer.headers.get("etag", "")

    def list_keys(self, bucket: str, prefix: str) -> dict[str, str]:
        """Key -> ETag of every object under `prefix`, following continuation tokens."""
        from xml.etree import ElementTree  # noqa: PLC0415 - only prefixes need it

        keys: dict[str, str] = {}
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            answer = self._request(bucket, "", query, {}, allowed=(200,))
            root = ElementTree.fromstring(answer.body)  # noqa: S314 - S3's own answer
            for item in root.iter():
                if _local(item.tag) == "Contents":
                    values = {_local(child.tag): child.text or "" for child in item}
                    keys[values.get("Key", "")] = values.get("ETag", "")
            values = {_local(child.tag): child.text or "" for child in root}
            token = values.get("NextContinuationToken", "")
            if values.get("IsTruncated") != "true" or not token:
                return keys

    def _request(
        self,
        bucket: str,
        key: str,
        query: dict[str, str],
        extra: dict[str, str],
        *,
        allowed: tuple[int, ...],
    ) -> Answer:
        attempt = 0
        redirected = False
        while True:
            attempt += 1
            region = self._regions.get(bucket, self.region)
            try:
                answer = self._send(region, bucket, key, query, extra)
            except (OSError, http.client.HTTPException):
                if attempt >= self.max_attempts:
                    raise
                self._back_off(attempt)
                continue
            if answer.status in allowed:
                return answer
            error = _error(answer)
            moved = answer.headers.get("x-amz-bucket-region", "")
            if moved and moved != region and not redirected and answer.status in (301, 400):
                self._regions[bucket] = moved  # as botocore does: once, then remembered
                redirected = True
                continue
            code = error.response["Error"]["Code"]
            retried = answer.status in RETRIED_STATUSES or code in RETRIED_CODES
            if not retried or attempt >= self.max_attempts:
                raise error
            self._back_off(attempt)

    def _back_off(self, attempt: int) -> None:
        time.sleep(random.random() * min(MAX_BACKOFF_SECONDS, 0.1 * 2**attempt))  # noqa: S311

    def _send(
        self, region: str, bucket: str, key: str, query: dict[str, str], extra: dict[str, str]
    ) -> Answer:
        scheme, host, path = self._address(region, bucket, key)
        query_text = canonical_query(query)
        headers = sign(
            "GET",
            host,
            path,
            query_text,
            extra,
            credentials=self.credentials,
            region=region,
            when=self.clock(),
        )
        connection = self._connection(scheme, host)
        try:
            connection.request("GET", f"{path}?{query_text}" if query_text else path, None, headers)
            response = connection.getresponse()
            body = response.read()
        except BaseException:
            connection.close()
            self._connections.pop((scheme, host), None)
            raise
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        if response.will_close:
            connection.close()
            self._connections.pop((scheme, host), None)
        return Answer(response.status, answer_headers, body or b"")

    def _address(self, region: str, bucket: str, key: str) -> tuple[str, str, str]:
        """(scheme, host[:port], canonical path) of an object or a bucket (`key` "")."""
        object_path = "/" + quote(key, safe="/~") if key else ""
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            path = f"{parts.path.rstrip('/')}/{quote(bucket, safe='')}{object_path}"
            return parts.scheme or "https", parts.netloc, path
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        if _VIRTUAL_HOSTABLE.fullmatch(bucket):
            return "https", f"{bucket}.s3.{region}.{suffix}", object_path or "/"
        return "https", f"s3.{region}.{suffix}", f"/{quote(bucket, safe='')}{object_path}"

    def _connection(self, scheme: str, host: str) -> http.client.HTTPConnection:
        found = self._connections.get((scheme, host))
        if found is not None:
            return found
        connection: http.client.HTTPConnection
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context(cafile=self.ca_bundle or None)
            connection = http.client.HTTPSConnection(
                host, timeout=self.connect_timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(host, timeout=self.connect_timeout)
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(self.read_timeout)
        self._connections[(scheme, host)] = connection
        return connection


def sign(
    method: str,
    host: str,
    path: str,
    query: str,
    extra: Mapping[str, str],
    *,
    credentials: Credentials,
    region: str,
    when: float,
) -> dict[str, str]:
    """The headers of a SigV4-signed S3 request without a body: `extra`, host, date, payload
    hash, session token and Authorization. `path` and `query` are already canonical."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    headers = {name.lower(): value.strip() for name, value in extra.items()}
    headers.update(host=host, **{"x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date})
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    names = sorted(headers)
    signed_headers = ";".join(names)
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{name}:{headers[name]}\n" for name in names),
            signed_headers,
            EMPTY_SHA256,
        ]
    )
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (amz_date[:8], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return headers


def canonical_query(query: Mapping[str, str]) -> str:
    """SigV4's canonical query string: keys and values percent-encoded, sorted by key."""
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query.items())
    return "&".join(f"{key}={value}" for key, value in pairs)


def _error(answer: Answer) -> S3ResponseError:
    """The error an answer describes; a bodiless one (a HEAD-like 403) by its status alone."""
    code, message = str(answer.status), http.client.responses.get(answer.status, "")
    if answer.body.lstrip().startswith(b"<"):
        found = dict(re.findall(rb"<(Code|Message)>([^<]*)</\1>", answer.body[:65536]))
        code = html.unescape(found.get(b"Code", b"").decode(errors="replace")) or code
        message = html.unescape(found.get(b"Message", b"").decode(errors="replace")) or message
    return S3ResponseError(answer.status, code, message)


def _local(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1]
