"""Server reflection offered by a server (the example backend); the client is the package's.

`grpc_transcoder.loading.reflection` fetches sets (the `descriptors fetch` command and
`grpc://` locations of TRANSCODER_DESCRIPTORS); this module adds the server side.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha import reflection

from grpc_transcoder.loading.reflection import (
    VERSIONS,
    Fetched,
    ReflectionError,
    Request,
    Response,
    fetch,
    service_name,
)

__all__ = [
    "VERSIONS",
    "Fetched",
    "ReflectionError",
    "Request",
    "Response",
    "enable",
    "fetch",
    "service_name",
]


def enable(
    server: grpc.Server,
    *,
    pool: descriptor_pool.DescriptorPool,
    services: Sequence[str],
    versions: Sequence[str] = VERSIONS,
) -> None:
    """Offer server reflection for `services` of `pool` under each protocol of `versions`."""
    names = (*services, *(service_name(version) for version in versions))
    servicer = reflection.ReflectionServicer(names, pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=Request.FromString,
        response_serializer=Response.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(service_name(v), {"ServerReflectionInfo": handler})
            for v in versions
        ]
    )
