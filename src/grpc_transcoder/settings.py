"""Settings: every `TRANSCODER_*` environment variable, read in one place at cold start.

Input: a mapping of environment variables. Output: a frozen `Settings`. Every setting has a
named default here; `SETTINGS` lists them for the README and for the template check.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import orjson

from grpc_transcoder.errors import ConfigurationError

PREFIX = "TRANSCODER_"


class UnknownFields(enum.Enum):
    """What to do with JSON fields or query parameters the request message does not have."""

    REJECT = "reject"
    IGNORE = "ignore"


class ErrorFormat(enum.Enum):
    """The shape of error bodies."""

    STATUS = "status"  # {"code", "message", "details"} as grpc-gateway and Envoy answer
    GOOGLE = "google"  # {"error": {"code", "message", "status", "details"}} as Google APIs answer


class OpenApiSecurity(enum.Enum):
    """The authorization the OpenAPI document declares (what guards the deployed API)."""

    NONE = "none"  # `security: []`: no authorization in front of the function
    JWT = "jwt"  # an HTTP bearer token (an HTTP API JWT authorizer, Cognito, ...)
    IAM = "iam"  # AWS SigV4-signed requests (IAM authorization, function URLs with AWS_IAM)
    API_KEY = "api-key"  # an `x-api-key` header (REST API usage plans)


class UrlUnescape(enum.Enum):
    """How much of a multi-segment path variable (`{name=shelves/**}`) is percent-decoded.

    Single-segment variables are always fully decoded, as in the reference (Envoy's
    `url_unescape_spec` likewise applies to multi-segment matches only).
    """

    RESERVED = "reserved"  # Envoy's ALL_CHARACTERS_EXCEPT_RESERVED (its default)
    EXCEPT_SLASH = "except-slash"  # ALL_CHARACTERS_EXCEPT_SLASH
    ALL = "all"  # ALL_CHARACTERS


class Passthrough(enum.Enum):
    """Which services accept binary (protobuf, gRPC-Web) pass-through calls."""

    OFF = "off"
    KNOWN = "known"  # services in the loaded descriptors
    ALL = "all"  # any service a backend pattern matches, including unknown ones


# The request headers the transcoder reads: what a browser may send by default under CORS.
CORS_ALLOW_HEADERS = (
    "authorization",
    "content-type",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
    "connect-protocol-version",
    "connect-timeout-ms",
    "traceparent",
    "tracestate",
)
# Hop-by-hop headers (RFC 9110 7.6.1): they describe one HTTP connection, never a call.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Never copied from backend metadata as plain response headers (TRANSCODER_RESPONSE_HEADERS):
# hop-by-hop headers, and the ones that describe the body the transcoder itself writes.
NOT_RESPONSE_HEADERS = HOP_BY_HOP | {"content-length", "content-type", "content-encoding"}


@dataclass(frozen=True, slots=True)
class Settings:
    """The parsed settings; field names are the variable names without the prefix, lower-cased."""

    descriptors: tuple[str, ...] = ()
    service_config: tuple[str, ...] = ()
    reflection_timeout: float = 5.0
    backends: tuple[tuple[str, str], ...] = ()
    descriptors_ttl: float = 0.0
    descriptors_retry_seconds: float = 5.0
    default_routes: bool = True
    default_routes_for_annotated: bool = True
    base_path: str = "/"
    url_unescape: UrlUnescape = UrlUnescape.RESERVED
    match_unregistered_verbs: bool = False
    max_request_bytes: int = 4 * 1024 * 1024
    max_response_bytes: int = 4 * 1024 * 1024
    max_parameters: int = 1000
    max_stream_messages: int = 10_000
    unknown_query_parameters: UnknownFields = UnknownFields.REJECT
    ignored_query_parameters: frozenset[str] = frozenset()
    query_plus_as_space: bool = True
    unknown_json_fields: UnknownFields = UnknownFields.REJECT
    enum_case_insensitive: bool = False
    json_use_proto_names: bool = False
    json_omit_unpopulated: bool = False
    json_enums_as_ints: bool = False
    error_format: ErrorFormat = ErrorFormat.STATUS
    max_deadline: tuple[tuple[str, float], ...] = (("*", 30.0),)
    deadline_margin_ms: int = 500
    min_deadline_ms: int = 50
    channel_idle_seconds: float = 30.0
    keepalive_time_ms: int = 10_000
    keepalive_timeout_ms: int = 3_000
    connect_timeout_ms: int = 2_000
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_server_name: str = ""
    forward_headers: frozenset[str] = frozenset()
    authorizer_metadata: tuple[tuple[str, str], ...] = ()
    idempotent_methods: frozenset[str] = frozenset()
    log_level: str = "INFO"
    metrics: bool = True
    metrics_namespace: str = "grpc-transcoder"
    health_path: str = ""
    health_check_backends: bool = False
    openapi_path: str = ""
    openapi_security: OpenApiSecurity = OpenApiSecurity.NONE
    passthrough: Passthrough = Passthrough.KNOWN
    connect: bool = True
    hooks: str = ""
    cors_origins: tuple[str, ...] = ()
    cors_allow_headers: tuple[str, ...] = CORS_ALLOW_HEADERS
    cors_expose_headers: tuple[str, ...] = ()
    cors_max_age: int = 600
    cors_allow_credentials: bool = False
    compression_min_bytes: int = 1024
    response_headers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Setting:
    """How one variable is parsed and documented."""

    name: str
    parse: Callable[[str, str], Any]
    doc: str


def _text(_name: str, raw: str) -> str:
    return raw.strip()


def _list(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _lower_set(name: str, raw: str) -> frozenset[str]:
    return frozenset(item.lower() for item in _list(name, raw))


def _set(name: str, raw: str) -> frozenset[str]:
    return frozenset(_list(name, raw))


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"{name}: expected true or false, got {raw!r}")


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: expected a number, got {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigurationError(f"{name}: expected a finite number >= 0, got {raw!r}")
    return value


def _integer(name: str, raw: str) -> int:
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        raise ConfigurationError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name}: expected a whole number >= 0, got {raw!r}")
    return value


def _choice(enum_type: type[enum.Enum]) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            return enum_type(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(str(member.value) for member in enum_type)
            raise ConfigurationError(f"{name}: expected one of {allowed}, got {raw!r}") from None

    return parse


def _json_object(name: str, raw: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{name}: invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name}: expected a JSON object, got {raw!r}")
    return value


def _backends(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """One target for every service, or a JSON object of service pattern -> target."""
    raw = raw.strip()
    if not raw:
        return ()
    if not raw.startswith("{"):
        return (("*", raw),)
    pairs = _json_object(name, raw).items()
    for pattern, target in pairs:
        if not isinstance(target, str) or not target.strip():
            raise ConfigurationError(f"{name}: the target of {pattern!r} must be a string")
    return tuple((pattern.strip(), str(target).strip()) for pattern, target in pairs)


def _deadlines(name: str, raw: str) -> tuple[tuple[str, float], ...]:
    """Seconds for every service, or a JSON object of service pattern -> seconds."""
    raw = raw.strip()
    if not raw.startswith("{"):
        return (("*", _positive(name, raw)),)
    pairs = tuple(
        (str(k).strip(), _positive(name, str(v))) for k, v in _json_object(name, raw).items()
    )
    return pairs if any(pattern == "*" for pattern, _ in pairs) else (*pairs, ("*", 30.0))


def _positive(name: str, raw: str) -> float:
    value = _number(name, raw)
    if value == 0:
        raise ConfigurationError(f"{name}: expected a number > 0, got {raw!r}")
    return value


def _claims(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """A JSON object mapping an authorizer field path to a metadata key."""
    if not raw.strip():
        return ()
    pairs = tuple((str(k), str(v).lower()) for k, v in _json_object(name, raw).items())
    for _, key in pairs:
        if not key or key.startswith("grpc-") or not key.isascii():
            raise ConfigurationError(f"{name}: {key!r} cannot be a metadata key")
    return pairs


def _origins(name: str, raw: str) -> tuple[str, ...]:
    """`*`, or origins such as `https://app.example.com` (scheme, host, optional port)."""
    origins = tuple(origin.rstrip("/") for origin in _list(name, raw))
    if "*" in origins and len(origins) > 1:
        raise ConfigurationError(f"{name}: `*` allows every origin; list no others beside it")
    for origin in origins:
        scheme, _, host = origin.partition("://")
        if origin != "*" and (scheme.lower() not in {"http", "https"} or not host or "/" in host):
            raise ConfigurationError(
                f"{name}: {origin!r} is not an origin (scheme://host[:port], e.g. "
                "https://app.example.com)"
            )
    return origins


def _header_names(name: str, raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(item.lower() for item in _list(name, raw)))
    for header in names:
        if header != "*" and not _TOKEN.fullmatch(header):
            raise ConfigurationError(f"{name}: {header!r} is not a header name")
    return names


def _response_headers(name: str, raw: str) -> frozenset[str]:
    keys = frozenset(_header_names(name, raw))
    for key in sorted(keys):
        if key in NOT_RESPONSE_HEADERS:
            raise ConfigurationError(
                f"{name}: {key} is never copied (hop-by-hop, or set by the transcoder itself)"
            )
        if key == "*" or key.startswith("grpc-") or key.endswith("-bin"):
            raise ConfigurationError(f"{name}: {key!r} cannot be copied as a plain header")
    return keys


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigurationError(f"{name}: expected DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return level


def _path(name: str, raw: str) -> str:
    path = raw.strip()
    if path and not path.startswith("/"):
        raise ConfigurationError(f"{name}: expected a path starting with '/', got {raw!r}")
    return path


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DESCRIPTORS",
        _list,
        "Comma-separated FileDescriptorSet locations: a file, a directory (every *.binpb, *.pb, *.desc), s3://bucket/key[?versionId=...], s3://bucket/prefix/, or a server to ask by gRPC server reflection, grpc://host:port or grpcs://host:port (optionally `?service=package.Service`).",
    ),
    Setting(
        "SERVICE_CONFIG",
        _list,
        "Comma-separated gRPC API Configuration YAML documents (`type: google.api.Service`, `http: rules:`), each a file or s3://bucket/key[?versionId=...]: HTTP rules for methods without annotations; a rule replaces the annotations of its method. Revalidated and swapped with the descriptors.",
    ),
    Setting(
        "REFLECTION_TIMEOUT",
        _number,
        "Seconds a `grpc://` or `grpcs://` descriptor location (server reflection) may take in all; keeps the cold start inside Lambda's 10 s init phase.",
    ),
    Setting(
        "BACKENDS",
        _backends,
        "One target for all services, or a JSON object mapping a service name, a package wildcard (`library.v1.*`) or `*` to a target. Targets: `host:port`, `grpc://host:port`, `grpcs://host:port` (TLS).",
    ),
    Setting(
        "DESCRIPTORS_TTL",
        _number,
        "Seconds after which a warm container revalidates its S3 descriptor sources (ETag) and swaps in a changed set; 0 turns it off.",
    ),
    Setting(
        "DESCRIPTORS_RETRY_SECONDS",
        _number,
        "First wait before retrying descriptors that failed to load; doubles on each failure up to 5 minutes.",
    ),
    Setting(
        "DEFAULT_ROUTES",
        _bool,
        "Add `POST /<package>.<Service>/<Method>` (body `*`) for every method.",
    ),
    Setting(
        "DEFAULT_ROUTES_FOR_ANNOTATED",
        _bool,
        "Also add the default route for methods that have google.api.http rules.",
    ),
    Setting(
        "BASE_PATH",
        _path,
        "A path prefix stripped before routing (a REST API base path mapping or a named HTTP API stage).",
    ),
    Setting(
        "URL_UNESCAPE",
        _choice(UrlUnescape),
        "How multi-segment path variables are percent-decoded: `reserved` keeps RFC 6570 reserved characters encoded, `except-slash` decodes all but %2F, `all` decodes everything (Envoy: url_unescape_spec ALL_CHARACTERS_EXCEPT_RESERVED, ALL_CHARACTERS_EXCEPT_SLASH, ALL_CHARACTERS). Single-segment variables are always fully decoded.",
    ),
    Setting(
        "MATCH_UNREGISTERED_VERBS",
        _bool,
        "Take any `:suffix` of the last path segment as a custom verb, so that `/person/jason:other` matches no `/person/{id}` route when no template has `:other` (Envoy: match_unregistered_custom_verb). Off: such a suffix is part of the segment.",
    ),
    Setting(
        "MAX_REQUEST_BYTES",
        _integer,
        "Largest accepted request body after base64 decoding; larger bodies answer 413.",
    ),
    Setting(
        "MAX_RESPONSE_BYTES",
        _integer,
        "Largest response body; a larger backend answer becomes an error (Lambda's limit is 6 MB).",
    ),
    Setting(
        "MAX_PARAMETERS",
        _integer,
        "Most query parameters, and most form fields in a form body, one request may send (pieces between `&`); more answer 400 before any is read. 0 turns the cap off.",
    ),
    Setting(
        "MAX_STREAM_MESSAGES",
        _integer,
        "Most messages in one request stream (JSON array elements, NDJSON lines, gRPC-Web frames); more answer 400 before any is decoded. 0 turns the cap off.",
    ),
    Setting(
        "UNKNOWN_QUERY_PARAMETERS",
        _choice(UnknownFields),
        "`reject` (400 naming them) or `ignore` query parameters that match no field.",
    ),
    Setting(
        "IGNORED_QUERY_PARAMETERS",
        _set,
        "Comma-separated query parameter names always ignored (e.g. `api_key,access_token`).",
    ),
    Setting(
        "QUERY_PLUS_AS_SPACE",
        _bool,
        "Decode `+` in query values as a space (HTML forms, grpc-gateway; Envoy's query_param_unescape_plus). `false` keeps `+` as it is, as Envoy does by default. Form bodies always decode it.",
    ),
    Setting(
        "UNKNOWN_JSON_FIELDS",
        _choice(UnknownFields),
        "`reject` (400 naming the field path) or `ignore` unknown JSON fields in request bodies.",
    ),
    Setting(
        "ENUM_CASE_INSENSITIVE",
        _bool,
        "Accept enum names in any letter case, in query parameters and in form and JSON bodies (Envoy: case_insensitive_enum_parsing).",
    ),
    Setting(
        "JSON_USE_PROTO_NAMES",
        _bool,
        "Print proto field names instead of lowerCamelCase JSON names (Envoy: preserve_proto_field_names).",
    ),
    Setting(
        "JSON_OMIT_UNPOPULATED",
        _bool,
        "Omit fields that hold their zero value (Envoy: the inverse of always_print_primitive_fields).",
    ),
    Setting("JSON_ENUMS_AS_INTS", _bool, "Print enums as numbers (Envoy: print_enums_as_ints)."),
    Setting(
        "ERROR_FORMAT",
        _choice(ErrorFormat),
        "`status` for `{code, message, details}`, `google` for `{error: {code, message, status, details}}`.",
    ),
    Setting(
        "MAX_DEADLINE",
        _deadlines,
        "Longest call deadline in seconds, for all services or as a JSON object of service pattern -> seconds.",
    ),
    Setting(
        "DEADLINE_MARGIN_MS",
        _integer,
        "Milliseconds of the Lambda's remaining time kept back for encoding the answer.",
    ),
    Setting(
        "MIN_DEADLINE_MS",
        _integer,
        "Below this many milliseconds of budget the call is not made and 504 answers at once.",
    ),
    Setting(
        "CHANNEL_IDLE_SECONDS",
        _number,
        "A channel idle for longer is replaced by a fresh connection before the next call (load balancers drop idle connections after 350 s); 0 turns it off.",
    ),
    Setting(
        "KEEPALIVE_TIME_MS",
        _integer,
        "Interval of HTTP/2 keepalive pings on busy connections; keep it above the server's minimum ping interval.",
    ),
    Setting(
        "KEEPALIVE_TIMEOUT_MS",
        _integer,
        "A ping unanswered for this long marks the connection dead.",
    ),
    Setting(
        "CONNECT_TIMEOUT_MS",
        _integer,
        "A new connection that has not completed its HTTP/2 handshake within this many milliseconds fails the call with 503 UNAVAILABLE instead of waiting out the deadline.",
    ),
    Setting(
        "TLS_CA_FILE",
        _text,
        "PEM bundle of the CA that signed the backends' certificates (default: system roots).",
    ),
    Setting("TLS_CERT_FILE", _text, "PEM client certificate for mutual TLS."),
    Setting("TLS_KEY_FILE", _text, "PEM private key of the client certificate."),
    Setting(
        "TLS_SERVER_NAME", _text, "Authority and TLS server name to use instead of the target host."
    ),
    Setting(
        "FORWARD_HEADERS",
        _lower_set,
        "Comma-separated request headers forwarded as metadata, in addition to `authorization` and `Grpc-Metadata-*`.",
    ),
    Setting(
        "AUTHORIZER_METADATA",
        _claims,
        "JSON object mapping an authorizer field path (e.g. `jwt.claims.sub`, `lambda.tenant`) to a metadata key.",
    ),
    Setting(
        "IDEMPOTENT_METHODS",
        _set,
        "Comma-separated `package.Service/Method` names retried on UNAVAILABLE like GET routes.",
    ),
    Setting("LOG_LEVEL", _log_level, "DEBUG, INFO, WARNING or ERROR."),
    Setting("METRICS", _bool, "Write CloudWatch Embedded Metric Format records to the log."),
    Setting("METRICS_NAMESPACE", _text, "CloudWatch namespace of the metrics."),
    Setting("HEALTH_PATH", _path, "Path answering a health report (empty: off)."),
    Setting(
        "HEALTH_CHECK_BACKENDS",
        _bool,
        "Include each backend's grpc.health.v1 status in the health report.",
    ),
    Setting(
        "OPENAPI_PATH",
        _path,
        "Path serving the OpenAPI document generated from the descriptors (empty: off).",
    ),
    Setting(
        "OPENAPI_SECURITY",
        _choice(OpenApiSecurity),
        "The authorization the OpenAPI document declares: `none`, `jwt` (bearer token), `iam` (SigV4) or `api-key` (`x-api-key` header); match what guards the deployed API.",
    ),
    Setting(
        "PASSTHROUGH",
        _choice(Passthrough),
        "Binary pass-through: `off`, `known` (services in the descriptors) or `all`.",
    ),
    Setting(
        "CONNECT",
        _bool,
        "Serve the Connect protocol (connectrpc.com) on `/<package>.<Service>/<Method>`: unary JSON and protobuf calls, GET for `NO_SIDE_EFFECTS` methods and streams; `off` leaves those requests to the default routes and pass-through.",
    ),
    Setting(
        "HOOKS",
        _text,
        "Python module (packaged with the function) defining request and response hooks.",
    ),
    Setting(
        "CORS_ORIGINS",
        _origins,
        "Comma-separated origins browsers may call from (`https://app.example.com`), or `*`; empty turns CORS off. The function then answers preflights (`OPTIONS`) itself and adds `Access-Control-Allow-Origin` to answers for those origins.",
    ),
    Setting(
        "CORS_ALLOW_HEADERS",
        _header_names,
        "Request headers a browser may send (`Access-Control-Allow-Headers`); the default is the headers the transcoder reads. Add the names of TRANSCODER_FORWARD_HEADERS you forward.",
    ),
    Setting(
        "CORS_EXPOSE_HEADERS",
        _header_names,
        "Response headers scripts may read (`Access-Control-Expose-Headers`). Empty: the ones the transcoder sets (`grpc-status`, `grpc-message`, `www-authenticate`, `allow`, the TRANSCODER_RESPONSE_HEADERS), and `*` for every `Grpc-Metadata-*` header unless credentials are allowed.",
    ),
    Setting(
        "CORS_MAX_AGE",
        _integer,
        "Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`).",
    ),
    Setting(
        "CORS_ALLOW_CREDENTIALS",
        _bool,
        "Let browsers send cookies and HTTP authentication (`Access-Control-Allow-Credentials: true`); refused with the origin `*`.",
    ),
    Setting(
        "COMPRESSION_MIN_BYTES",
        _integer,
        "Answers of at least this many bytes are gzip-compressed for clients whose `Accept-Encoding` allows it; 0 turns compression off. Requests with `Content-Encoding: gzip` are always accepted.",
    ),
    Setting(
        "RESPONSE_HEADERS",
        _response_headers,
        "Comma-separated backend metadata keys also copied as plain response headers (e.g. `location,cache-control,etag,set-cookie`); each `set-cookie` value stays a cookie of its own. Hop-by-hop headers, `content-length`, `content-type` and `content-encoding` are refused.",
    ),
)

NAMES: frozenset[str] = frozenset(PREFIX + setting.name for setting in SETTINGS)


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from keyword arguments, then the environment, then the defaults.

    Raises ConfigurationError naming the variable for a value that cannot be parsed.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        key = setting.name.lower()
        if key in overrides:
            values[key] = overrides.pop(key)
        elif (raw := env.get(PREFIX + setting.name)) is not None:
            values[key] = setting.parse(PREFIX + setting.name, raw)
    if overrides:
        raise TypeError(f"unknown settings: {', '.join(sorted(overrides))}")
    settings = Settings(**values)
    if settings.cors_allow_credentials and "*" in settings.cors_origins:
        raise ConfigurationError(
            f"{PREFIX}CORS_ALLOW_CREDENTIALS: browsers refuse credentials with the origin `*`;"
            f" list the origins in {PREFIX}CORS_ORIGINS"
        )
    return settings


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, for the README."""
    defaults = {f.name: getattr(Settings(), f.name) for f in fields(Settings)}
    return [(PREFIX + s.name, _show(defaults[s.name.lower()]), s.doc) for s in SETTINGS]


def _show(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | frozenset):
        items = [f"{v[0]}={v[1]}" if isinstance(v, tuple) else str(v) for v in value]
        return ",".join(sorted(items)) if items else "(empty)"
    return str(value) if value != "" else "(empty)"
