"""Pass-through: binary calls forwarded as they are, routed by service name, no transcoding.

Input: a POST to `/<package>.<Service>/<Method>` with a protobuf body (`application/x-protobuf`,
`application/proto`, `application/protobuf`) or a gRPC-Web body. Output: the backend's answer in
the same content type (gRPC-Web: data frames, then the trailer frame), or None for any other
request, which is then routed as JSON.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grpc_transcoder.calling.caller import ResponseStream
from grpc_transcoder.decoding import streams as stream_decoding
from grpc_transcoder.encoding import response_metadata
from grpc_transcoder.errors import Code, RequestError, TranscoderError, check_request_size
from grpc_transcoder.exchange import HttpRequest, Reply, media_type, under_base_path
from grpc_transcoder.hooks.table import HookRun
from grpc_transcoder.loading.registry import MethodInfo
from grpc_transcoder.observe import access_log
from grpc_transcoder.passthrough import grpc_web, grpc_web_reply
from grpc_transcoder.passthrough.grpc_web import WebFormat
from grpc_transcoder.passthrough.raw_calls import Method, RawCall, RawMethod, messages
from grpc_transcoder.settings import Passthrough

if TYPE_CHECKING:
    from grpc_transcoder.loading.state import State

logger = logging.getLogger(__name__)

PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/proto", "application/protobuf"})
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = re.compile(rf"/((?:{_NAME}\.)+{_NAME})/({_NAME})")  # a package is required


@dataclass(frozen=True, slots=True)
class Addressed:
    """A pass-through request: the method it names and how its body is framed."""

    service: str
    name: str
    media_type: str  # of the request; a protobuf answer has the same
    web: WebFormat | None  # None: the body is one serialized message


def addressed(request: HttpRequest, base_path: str, web: WebFormat | None) -> Addressed | None:
    """The pass-through target of `request`, or None when it is not a pass-through request.

    `web` is the request's gRPC-Web format, negotiated once by the pipeline.
    """
    if request.method != "POST":
        return None
    media = media_type(request.content_type)[0]
    if web is None and media not in PROTOBUF_TYPES:
        return None
    path = under_base_path(request.path, base_path)
    found = _PATH.fullmatch(path) if path is not None else None
    return Addressed(found[1], found[2], media, web) if found else None


def is_call_path(path: str, base_path: str) -> bool:
    """Whether `path` has the `/package.Service/Method` shape of a pass-through call."""
    inner = under_base_path(path, base_path)
    return inner is not None and _PATH.fullmatch(inner) is not None


def answer(
    state: State, request: HttpRequest, web: WebFormat | None, log: access_log.RequestLog
) -> Reply | None:
    """Forward a pass-through request and answer it; None when `request` is not one.

    Failures raise TranscoderError (the pipeline's error path frames them, as gRPC-Web
    trailers for gRPC-Web requests), except those after the first message of a gRPC-Web
    stream, which end the stream in its trailer frame.
    """
    target = addressed(request, state.routes.base_path, web)
    if target is None:
        return None
    method = resolve(state, target.service, target.name)
    log.route = f"{target.web.content_type if target.web else target.media_type} pass-through"
    log.grpc_method = method.full_name
    log.method_known = not isinstance(method, RawMethod)
    hooked = _hooks(state, method, request)
    requests = _requests(state, request, target, method, hooked)
    spec = state.calls.spec(method, request, added=hooked.metadata)  # as for a JSON call
    log.lap()  # decoded
    max_bytes = state.calls.max_response_bytes
    call = RawCall(state.caller, spec, method, requests, hooked, state.registry, max_bytes)
    if target.web is None:
        return _protobuf_reply(call, target.media_type, log, state.serving.response_headers)
    return grpc_web_reply.call_reply(call, target.web, log)


def resolve(state: State, service: str, name: str) -> Method:
    """The method to call, as TRANSCODER_PASSTHROUGH allows; raises UNIMPLEMENTED otherwise."""
    setting = state.serving.passthrough
    if setting is Passthrough.OFF:
        raise TranscoderError(
            "binary pass-through is off (TRANSCODER_PASSTHROUGH=off); send JSON"
            f" (application/json) to /{service}/{name}",
            code=Code.UNIMPLEMENTED,
        )
    known = state.registry.methods.get(f"/{service}/{name}")
    if known is not None:
        return known
    if setting is Passthrough.ALL:
        return RawMethod(service, name)
    what = (
        f"{service} has no method {name} in the loaded descriptors"
        if service in state.registry.services
        else f"{service} is not in the loaded descriptors"
    )
    raise TranscoderError(
        f"{what}; pass-through to methods outside them needs TRANSCODER_PASSTHROUGH=all",
        code=Code.UNIMPLEMENTED,
    )


def _hooks(state: State, method: Method, request: HttpRequest) -> HookRun:
    """The method's hooks; a method they cannot read (absent from the descriptors) is refused."""
    hooked = state.hooks.start(method.full_name, request)
    if hooked and isinstance(method, RawMethod):
        logger.warning(
            "refused %s: hooks match it but it is not in the descriptors", method.full_name
        )
        raise TranscoderError(
            f"{method.full_name} is not in the loaded descriptors, so the hooks that match it"
            " cannot read its messages; it is not served",
            code=Code.UNIMPLEMENTED,
        )
    return hooked


def _requests(
    state: State,
    request: HttpRequest,
    target: Addressed,
    method: Method,
    hooked: HookRun,
) -> list[bytes]:
    options = state.decoder.options
    check_request_size(request.body, options.max_request_bytes)
    if target.web is None:
        messages = [request.body]
    else:
        grpc_web.check_codec(target.web)
        streams = isinstance(method, RawMethod) or method.client_streaming
        limit = options.max_stream_messages if streams else 1
        messages = grpc_web.request_messages(request.body, target.web, limit=limit)
        if streams:
            stream_decoding.check_count(len(messages), limit)
    if isinstance(method, RawMethod):
        return messages
    _check_cardinality(method, messages, web=target.web is not None)
    return hooked.request_bytes(messages, method.input)


def _check_cardinality(method: MethodInfo, messages: Sequence[bytes], *, web: bool) -> None:
    if method.server_streaming and not web:
        raise RequestError(
            f"{method.full_name} is server-streaming and a protobuf body answers one message:"
            " call it with Content-Type application/grpc-web+proto",
            status=415,
        )
    if not method.client_streaming and len(messages) != 1:
        holds = "none" if not messages else "more than one"
        raise RequestError(
            f"{method.full_name} takes exactly one request message; the gRPC-Web body holds {holds}"
        )


def _protobuf_reply(
    call: RawCall, media_type: str, log: access_log.RequestLog, plain: frozenset[str]
) -> Reply:
    """The one response message with the metadata headers and `x-http-code` of JSON calls."""
    if call.streams:
        stream = call.stream()
        data = _single(stream, call.method)
        initial, trailing = stream.initial_metadata, stream.trailing_metadata
    else:
        result = call.unary()
        data, initial, trailing = result.response, result.initial_metadata, result.trailing_metadata
    log.lap()  # called
    reply = Reply(200, call.response(data), content_type=media_type)
    return response_metadata.finish(reply, initial, trailing, call.max_response_bytes, plain)


def _single(stream: ResponseStream, method: Method) -> bytes:
    """The only message of a method called streaming; more or none cannot be one body."""
    with messages(stream) as iterator:
        received = list(itertools.islice(iterator, 2))  # a second one is enough to refuse
    if len(received) == 1:
        return received[0]
    many = "more than one message" if received else "no message"
    raise RequestError(
        f"{method.full_name} answered {many}; a protobuf body carries exactly one: call it"
        " with Content-Type application/grpc-web+proto",
        status=415,
    )
