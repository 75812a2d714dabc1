"""State: everything a request needs, built once from the settings and one descriptor version.

Input: `Settings` and the descriptor sets read from their sources. Output: an immutable `State`
holding the registry, the route table, the codec, the request decoder, the response encoder, the
call policy and caller, the hooks and the serving options: every setting compiled into the
object that uses it. A descriptor swap replaces the whole State, and with it everything built
from those descriptors (per-version values computed later hang on `State.cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grpc_transcoder.calling.caller import BackendCaller
from grpc_transcoder.calling.channels import ChannelCache
from grpc_transcoder.calling.policy import CallPolicy
from grpc_transcoder.calling.status_details import StatusDecoder
from grpc_transcoder.decoding.request import DecodingOptions, RequestDecoder
from grpc_transcoder.encoding.unary import ResponseEncoder
from grpc_transcoder.hooks.table import HookTable
from grpc_transcoder.json.codec import JsonCodec, JsonOptions
from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading.blob import Blob
from grpc_transcoder.loading.registry import Registry
from grpc_transcoder.loading.serving import ServingOptions
from grpc_transcoder.routing.table import RouteTable, routes_for
from grpc_transcoder.settings import Settings, UnknownFields


class PerVersion:
    """Values of one State computed on first use (the OpenAPI document): they go with it."""

    __slots__ = ("openapi",)

    def __init__(self) -> None:
        self.openapi: bytes | None = None


@dataclass(frozen=True, slots=True)
class State:
    """Everything built at cold start; immutable, so a swap replaces it in one assignment.

    `warnings` are problems that do not stop serving: rules that cannot be routed, services
    without a backend. They are logged at load and printed by `descriptors check`.
    """

    settings: Settings
    registry: Registry
    routes: RouteTable
    codec: JsonCodec
    decoder: RequestDecoder
    responses: ResponseEncoder
    calls: CallPolicy  # backends, channel options, metadata, deadlines, retries
    caller: BackendCaller
    hooks: HookTable  # of TRANSCODER_HOOKS, imported once
    serving: ServingOptions
    warnings: tuple[str, ...] = ()
    cache: PerVersion = field(default_factory=PerVersion, compare=False)


def build(
    settings: Settings,
    blobs: Sequence[Blob],
    *,
    read_problems: Sequence[str] = (),
    service_configs: Sequence[Blob] = (),
    channels: ChannelCache | None = None,
) -> State:
    """Build everything from descriptor sets already read (and the problems reading others).

    `channels` are the runtime's, which outlive every State; raises ConfigurationError naming
    each problem.
    """
    registry = descriptors.build(
        blobs, read_problems=read_problems, service_configs=service_configs
    )
    routes, problems = routes_for(
        registry,
        default_routes=settings.default_routes,
        default_routes_for_annotated=settings.default_routes_for_annotated,
    )
    warnings = [f"service config rule skipped: {problem}" for problem in registry.rule_problems]
    warnings += [f"route skipped: {problem}" for problem in problems]
    calls = CallPolicy.from_settings(settings)
    unrouted = calls.backends.unrouted(registry.services)
    if unrouted and settings.backends:
        warnings.append(f"no backend configured for: {', '.join(unrouted)}")
    codec = JsonCodec(registry.pool, json_options(settings))
    table = RouteTable(
        routes,
        base_path=settings.base_path,
        url_unescape=settings.url_unescape,
        match_unregistered_verbs=settings.match_unregistered_verbs,
    )
    hooks = HookTable.load(settings.hooks)
    warnings.extend(hooks.unmatched([method.full_name for method in registry.methods.values()]))
    caller = BackendCaller(channels or ChannelCache(), StatusDecoder(registry, codec))
    return State(
        settings=settings,
        registry=registry,
        routes=table,
        codec=codec,
        decoder=RequestDecoder(codec, options=DecodingOptions.from_settings(settings)),
        responses=ResponseEncoder(registry, codec),
        calls=calls,
        caller=caller,
        hooks=hooks,
        serving=ServingOptions.from_settings(settings),
        warnings=tuple(warnings),
    )


def json_options(settings: Settings) -> JsonOptions:
    return JsonOptions(
        use_proto_names=settings.json_use_proto_names,
        omit_unpopulated=settings.json_omit_unpopulated,
        enums_as_ints=settings.json_enums_as_ints,
        ignore_unknown_fields=settings.unknown_json_fields is UnknownFields.IGNORE,
        enum_case_insensitive=settings.enum_case_insensitive,
    )
