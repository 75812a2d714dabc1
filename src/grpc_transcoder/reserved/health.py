"""Health: the report answered at the reserved TRANSCODER_HEALTH_PATH.

Input: the loaded `State` (or why there is none) and, when enabled, each backend's
`grpc.health.v1.Health/Check` answer. Output: a `Reply`, 200 when everything checked is serving
and 503 otherwise, with a JSON report saying what was checked and why it is not serving.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import grpc
import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from grpc_transcoder import settings as settings_module
from grpc_transcoder.calling.backends import Target
from grpc_transcoder.calling.caller import unavailable_message
from grpc_transcoder.errors import ConfigurationError, MethodNotAllowedError
from grpc_transcoder.exchange import HttpRequest, Reply
from grpc_transcoder.loading.serving import ServingOptions
from grpc_transcoder.settings import Settings

if TYPE_CHECKING:
    from grpc_transcoder.loading.runtime import Runtime
    from grpc_transcoder.loading.state import State

logger = logging.getLogger(__name__)

CHECK_PATH = "/grpc.health.v1.Health/Check"
DEADLINE_SECONDS = 2.0  # the longest a backend check may take
MIN_DEADLINE_SECONDS = 0.05
LAMBDA_MARGIN_MS = 500.0  # kept back from the Lambda's remaining time for the answer
SERVING = "SERVING"
NOT_SERVING = "NOT_SERVING"
NO_BACKEND = "NO_BACKEND"
READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True, slots=True)
class BackendHealth:
    """The grpc.health.v1 status of one service, or the gRPC code of the failed check.

    `backend` is the TRANSCODER_BACKENDS pattern that routes the service, never its address.
    """

    service: str
    backend: str
    status: str
    message: str = ""

    def fields(self) -> dict[str, str]:
        fields = {"service": self.service, "backend": self.backend, "status": self.status}
        if self.message:
            fields["message"] = self.message
        return fields


def is_health_request(request: HttpRequest, health_path: str) -> bool:
    """Whether `request` asks for the health report (off when `health_path` is empty)."""
    return bool(health_path) and _same_path(request.path, health_path)


def report(runtime: Runtime, state: State, request: HttpRequest) -> Reply:
    """The health report of a loaded state; checks backends when the settings ask."""
    _check_method(request)
    registry, status = state.registry, runtime.status()
    descriptors: dict[str, Any] = {
        "loaded": True,
        "version": registry.version,
        "files": len(registry.files),
        "services": list(registry.services),
        "methods": len(registry.methods),
        "routes": len(state.routes.routes),
        "swaps": status.swaps,
    }
    if status.error:  # a changed set that was rejected: the previous one still serves
        descriptors["rejectedChange"] = status.error
    body: dict[str, Any] = {"status": SERVING, "descriptors": descriptors}
    if state.serving.health_check_backends:
        backends = check_backends(runtime, state, timeout=_timeout(request))
        body["backends"] = [backend.fields() for backend in backends]
        if any(backend.status != SERVING for backend in backends):
            body["status"] = NOT_SERVING
    return _reply(body)


def not_ready_report(request: HttpRequest, reason: str) -> Reply:
    """The health report while descriptors or settings cannot be loaded: 503 and why."""
    _check_method(request)
    return _reply({"status": NOT_SERVING, "descriptors": {"loaded": False, "reason": reason}})


def serving_while_not_ready(environ: Mapping[str, str] | None = None) -> ServingOptions:
    """The serving options while the runtime has none: the environment's, or the defaults.

    The runtime does not keep the settings of a failed load; Lambda reads them from the same
    environment, so the health path still answers with the reason while descriptors fail.
    """
    try:
        return ServingOptions.from_settings(settings_module.load(environ))
    except ConfigurationError:
        return ServingOptions.from_settings(Settings())


def check_backends(runtime: Runtime, state: State, *, timeout: float) -> list[BackendHealth]:
    """Check every service of the descriptors at its backend, all at once, within `timeout`."""
    request_class, _ = health_messages()
    pending: list[tuple[str, Target | None, Any]] = []  # service, target, grpc.Future or None
    for service in state.registry.services:
        target = state.calls.backends.resolve(service)
        if target is None:
            pending.append((service, None, None))
            continue
        connection = runtime.channels.get(target, state.calls.channels)
        call = connection.multicallable(CHECK_PATH, client_streaming=False, server_streaming=False)
        data = request_class(service=service).SerializeToString()
        pending.append((service, target, call.future(data, timeout=timeout)))
    return [_result(service, target, future) for service, target, future in pending]


def _result(service: str, target: Target | None, future: Any) -> BackendHealth:
    if target is None:
        return BackendHealth(service, "", NO_BACKEND, "no backend is configured")
    try:
        data = future.result()
    except Exception as exc:  # noqa: BLE001  a failed check is a result, never an error
        return BackendHealth(service, target.pattern, *_failure(service, target, exc))
    _, response_class = health_messages()
    status: Any = response_class.FromString(data)
    name = response_class.DESCRIPTOR.enum_types_by_name["ServingStatus"].values_by_number.get(
        status.status
    )
    return BackendHealth(service, target.pattern, name.name if name else str(status.status))


def _failure(service: str, target: Target, exc: Exception) -> tuple[str, str]:
    """The code and message of a failed check; connection failures never name an address."""
    logger.warning("health check of %s at %s failed: %r", service, target, exc)
    if not isinstance(exc, grpc.Call):
        return "UNKNOWN", type(exc).__name__
    code = exc.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return code.name, unavailable_message(service, target)
    return str(code.name), str(exc.details() or "")


@cache
def health_messages() -> tuple[type[Message], type[Message]]:
    """HealthCheckRequest and HealthCheckResponse, built from a small descriptor on first use.

    grpcio-health-checking is not a runtime dependency; the two messages are all a check needs.
    """
    file = descriptor_pb2.FileDescriptorProto(
        name="grpc_transcoder/health_check.proto", package="grpc.health.v1", syntax="proto3"
    )
    request = file.message_type.add(name="HealthCheckRequest")
    request.field.add(
        name="service", number=1, type=_field.TYPE_STRING, label=_field.LABEL_OPTIONAL
    )
    response = file.message_type.add(name="HealthCheckResponse")
    statuses = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(("UNKNOWN", SERVING, NOT_SERVING, "SERVICE_UNKNOWN")):
        statuses.value.add(name=name, number=number)
    response.field.add(
        name="status",
        number=1,
        type=_field.TYPE_ENUM,
        type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
        label=_field.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName(_message_name(request))),
        message_factory.GetMessageClass(pool.FindMessageTypeByName(_message_name(response))),
    )


_field = descriptor_pb2.FieldDescriptorProto


def _message_name(message: descriptor_pb2.DescriptorProto) -> str:
    return f"grpc.health.v1.{message.name}"


def _check_method(request: HttpRequest) -> None:
    if request.method not in READ_METHODS:
        raise MethodNotAllowedError(
            f"{request.method} is not allowed on {request.path}", allow=READ_METHODS
        )


def _timeout(request: HttpRequest) -> float:
    remaining = request.remaining_ms()
    if remaining is None:
        return DEADLINE_SECONDS
    budget = (remaining - LAMBDA_MARGIN_MS) / 1000
    return max(MIN_DEADLINE_SECONDS, min(DEADLINE_SECONDS, budget))


def _reply(body: Mapping[str, Any]) -> Reply:
    status = 200 if body["status"] == SERVING else 503
    return Reply(status, orjson.dumps(body), {"cache-control": "no-store"})


def _same_path(path: str, reserved: str) -> bool:
    return path.rstrip("/") == reserved.rstrip("/")
