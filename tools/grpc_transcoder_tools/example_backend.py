"""The example backend: a real gRPC server for the library API, with in-memory data.

It is built from the descriptor set alone (generic handlers over dynamic message classes), so it
needs no generated code, like the transcoder. Used by `grpc-transcoder serve`, the tests and the
benchmarks; never part of the Lambda package.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message

from grpc_transcoder.loading import registry as descriptors
from grpc_transcoder.loading import sources as descriptor_source
from grpc_transcoder.loading.registry import Registry

logger = logging.getLogger(__name__)


def _example_set() -> Path:
    """descriptors/library.binpb of the checkout, or the copy an installed wheel carries."""
    checkout = Path(__file__).resolve().parents[2] / "descriptors" / "library.binpb"
    if checkout.is_file():
        return checkout
    return Path(str(resources.files("grpc_transcoder_tools").joinpath("data/library.binpb")))


DEFAULT_DESCRIPTORS = _example_set()
LIBRARY = "library.v1.LibraryService"
DEBUG = "library.v1.DebugService"
HEALTH = "grpc.health.v1.Health"

Handler = Callable[..., Any]


@dataclass
class RunningBackend:
    server: grpc.Server
    port: int
    backend: LibraryBackend

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(grace=None).wait()


def load_registry(path: Path = DEFAULT_DESCRIPTORS) -> Registry:
    return descriptors.build(descriptor_source.read_all([str(path)]))


class LibraryBackend:
    """The service implementations over one in-memory library."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # Dynamic messages have no static field types, hence Any.
        self.shelves: dict[str, Any] = {}
        self.books: dict[str, Any] = {}
        self.authors: dict[str, Any] = {}
        self.covers: dict[str, tuple[str, bytes]] = {}
        self.started = time.time()
        self._seed()

    def new(self, type_name: str, /, **fields: Any) -> Any:
        full_name = type_name if "." in type_name else f"library.v1.{type_name}"
        return self.registry.message_class(self.registry.pool.FindMessageTypeByName(full_name))(
            **fields
        )

    # -- seed data ---------------------------------------------------------------------------

    def _seed(self) -> None:
        for shelf_id, theme in (("fiction", "Fiction"), ("science", "Popular science")):
            shelf = self.new("Shelf", name=f"shelves/{shelf_id}", theme=theme)
            shelf.create_time.FromSeconds(1_700_000_000)
            self.shelves[shelf.name] = shelf
        self._seed_book(
            "shelves/fiction/books/dune",
            title="Dune",
            authors=["Frank Herbert"],
            genre=1,
            page_count=412,
            copies_sold=20_000_000,
            isbn=9780441172719,
            rating=4.6,
            price=9.99,
            available=True,
            publisher="Chilton Books",
            labels={"series": "dune"},
        )
        self._seed_book(
            "shelves/fiction/books/earthsea",
            title="A Wizard of Earthsea",
            authors=["Ursula K. Le Guin"],
            genre=1,
            page_count=183,
            rating=4.4,
            available=False,
            self_published=False,
            subtitle="Earthsea Cycle, book 1",
        )
        self._seed_book(
            "shelves/science/books/cosmos",
            title="Cosmos",
            authors=["Carl Sagan"],
            genre=4,
            page_count=396,
            isbn=9780345539434,
            rating=4.7,
            available=True,
            publisher="Random House",
        )
        self.authors["ursula-le-guin"] = self.new(
            "Author",
            id="ursula-le-guin",
            display_name="Ursula K. Le Guin",
            birth_year=1929,
            genres=[1],
        )
        self.covers["shelves/fiction/books/dune"] = ("image/png", b"\x89PNG\r\n\x1a\n-dune-cover")

    def _seed_book(self, name: str, **fields: Any) -> None:
        book = self.new("Book", name=name, **fields)
        book.publish_time.FromSeconds(1_000_000_000)
        book.reading_time.FromSeconds(6 * 3600)
        book.metadata.update({"language": "en", "awards": ["Hugo"] if "dune" in name else []})
        self.books[name] = book
        self._count(name.rsplit("/books/", 1)[0])

    def _count(self, shelf_name: str) -> None:
        shelf = self.shelves.get(shelf_name)
        if shelf is not None:
            shelf.book_count = sum(1 for n in self.books if n.startswith(shelf_name + "/books/"))

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> Any:
        context.abort(code, message)

    def _shelf(self, name: str, context: grpc.ServicerContext) -> Any:
        if not name.startswith("shelves/") or "/" in name[len("shelves/") :]:
            self.abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"invalid shelf name {name!r}")
        shelf = self.shelves.get(name)
        if shelf is None:
            self.abort(context, grpc.StatusCode.NOT_FOUND, f"shelf {name!r} not found")
        return shelf

    def _book(self, name: str, context: grpc.ServicerContext) -> Any:
        book = self.books.get(name)
        if book is None:
            self.abort(context, grpc.StatusCode.NOT_FOUND, f"book {name!r} not found")
        return book

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    # -- LibraryService ----------------------------------------------------------------------

    def ListShelves(self, request: Any, context: grpc.ServicerContext) -> Any:
        shelves = sorted(self.shelves.values(), key=lambda s: s.name)
        if request.page_size:
            shelves = shelves[: request.page_size]
        return self.new("ListShelvesResponse", shelves=shelves)

    def GetShelf(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._shelf(request.name, context)

    def CreateShelf(self, request: Any, context: grpc.ServicerContext) -> Any:
        shelf_id = request.shelf_id or self._next_id("shelf")
        name = f"shelves/{shelf_id}"
        with self._lock:
            if name in self.shelves:
                self.abort(
                    context, grpc.StatusCode.ALREADY_EXISTS, f"shelf {name!r} already exists"
                )
            shelf = self.new("Shelf")
            shelf.CopyFrom(request.shelf)
            shelf.name = name
            shelf.book_count = 0
            shelf.create_time.GetCurrentTime()
            self.shelves[name] = shelf
        context.send_initial_metadata((("x-http-code", "201"),))
        return shelf

    def DeleteShelf(self, request: Any, context: grpc.ServicerContext) -> Any:
        shelf = self._shelf(request.name, context)
        with self._lock:
            if shelf.book_count and not request.force:
                self.abort(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"shelf {request.name!r} holds {shelf.book_count} books; use force",
                )
            for name in [n for n in self.books if n.startswith(request.name + "/books/")]:
                del self.books[name]
            del self.shelves[request.name]
        return self.new("google.protobuf.Empty")

    def _books_of(self, parent: str, genre: int = 0) -> list[Any]:
        return sorted(
            (
                b
                for n, b in self.books.items()
                if n.startswith(parent + "/books/") and (not genre or b.genre == genre)
            ),
            key=lambda b: b.name,
        )

    def ListBooks(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._shelf(request.parent, context)
        books = self._books_of(request.parent, request.genre)
        if request.page_size:
            books = books[: request.page_size]
        return self.new("ListBooksResponse", books=books)

    def GetBook(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The book, with an `etag` (a hash of its bytes) and a `cache-control` in the initial
        metadata: what TRANSCODER_RESPONSE_HEADERS turns into a conditional GET."""
        book = self._book(request.name, context)
        digest = hashlib.sha256(book.SerializeToString(deterministic=True)).hexdigest()[:16]
        context.send_initial_metadata((("etag", f'"{digest}"'), ("cache-control", "max-age=60")))
        return book

    GetBookMetadata = GetBook

    def CreateBook(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._shelf(request.parent, context)
        name = f"{request.parent}/books/{request.book_id or self._next_id('book')}"
        with self._lock:
            if name in self.books:
                self.abort(context, grpc.StatusCode.ALREADY_EXISTS, f"book {name!r} already exists")
            book = self.new("Book")
            book.CopyFrom(request.book)
            book.name = name
            book.update_time.GetCurrentTime()
            self.books[name] = book
            self._count(request.parent)
        return book

    def UpdateBook(self, request: Any, context: grpc.ServicerContext) -> Any:
        book = self._book(request.book.name, context)
        with self._lock:
            if request.HasField("update_mask") and request.update_mask.paths:
                mask = request.update_mask
                if not mask.IsValidForDescriptor(book.DESCRIPTOR):
                    self.abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"invalid update_mask {mask.ToJsonString()!r}",
                    )
                mask.MergeMessage(
                    request.book, book, replace_message_field=True, replace_repeated_field=True
                )
            else:
                book.CopyFrom(request.book)
            book.update_time.GetCurrentTime()
        return book

    def DeleteBook(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._book(request.name, context)
        with self._lock:
            del self.books[request.name]
            self._count(request.name.rsplit("/books/", 1)[0])
        return self.new("google.protobuf.Empty")

    def MoveBook(self, request: Any, context: grpc.ServicerContext) -> Any:
        book = self._book(request.name, context)
        self._shelf(request.other_shelf, context)
        with self._lock:
            del self.books[request.name]
            book.name = f"{request.other_shelf}/books/{request.name.rsplit('/', 1)[1]}"
            self.books[book.name] = book
            self._count(request.name.rsplit("/books/", 1)[0])
            self._count(request.other_shelf)
        return book

    def SearchBooks(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = [
            b
            for b in sorted(self.books.values(), key=lambda b: b.name)
            if self._matches(b, request)
        ]
        total = len(found)
        if request.page_size:
            found = found[: request.page_size]
        return self.new("SearchBooksResponse", books=found, total_size=total)

    @staticmethod
    def _matches(book: Any, request: Any) -> bool:
        checks = (
            not request.query or request.query.lower() in book.title.lower(),
            not request.shelf or book.name.startswith(request.shelf + "/books/"),
            not request.genres or book.genre in request.genres,
            not request.HasField("published_after")
            or book.publish_time.ToNanoseconds() > request.published_after.ToNanoseconds(),
            all(book.labels.get(k) == v for k, v in request.labels.items()),
            not request.HasField("min_rating") or book.rating >= request.min_rating.value,
        )
        return all(checks)

    def StreamBooks(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self._shelf(request.parent, context)
        books = self._books_of(request.parent, request.genre)
        yield from books[: request.page_size] if request.page_size else books

    def ImportBooks(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        names: list[str] = []
        for book in requests:
            parent = book.name.rsplit("/books/", 1)[0] if "/books/" in book.name else ""
            if parent not in self.shelves:
                self.abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"book name {book.name!r} names no known shelf",
                )
            with self._lock:
                stored = self.new("Book")
                stored.CopyFrom(book)
                self.books[book.name] = stored
                self._count(parent)
            names.append(book.name)
        return self.new("ImportBooksResponse", names=names, imported_count=len(names))

    def GetBookCover(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._book(request.name, context)
        content_type, data = self.covers.get(
            request.name, ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
        )
        return self.new("google.api.HttpBody", content_type=content_type, data=data)

    def UploadBookCover(self, request: Any, context: grpc.ServicerContext) -> Any:
        book = self._book(request.name, context)
        self.covers[request.name] = (request.cover.content_type, request.cover.data)
        return book

    def GetAuthor(self, request: Any, context: grpc.ServicerContext) -> Any:
        author = self.authors.get(request.id)
        if author is None:
            self.abort(context, grpc.StatusCode.NOT_FOUND, f"author {request.id!r} not found")
        return author

    def UpdateAuthor(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not request.author.id:
            self.abort(context, grpc.StatusCode.INVALID_ARGUMENT, "author.id is required")
        author = self.new("Author")
        author.CopyFrom(request.author)
        self.authors[author.id] = author
        return author

    def GetLibraryInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        info = self.new(
            "LibraryInfo",
            name="Example library",
            shelf_count=len(self.shelves),
            book_count=len(self.books),
        )
        info.start_time.FromNanoseconds(int(self.started * 1e9))
        return info

    # -- DebugService ------------------------------------------------------------------------

    def EchoKinds(self, request: Any, context: grpc.ServicerContext) -> Any:
        return request

    def Fail(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.HasField("delay"):
            self._wait(request.delay.ToTimedelta().total_seconds(), context)
        if request.code == 0:
            return self.new("google.protobuf.Empty")
        status = self.new(
            "google.rpc.Status", code=request.code, message=request.message, details=request.details
        )
        context.abort_with_status(
            _RpcStatus(request.code, request.message, status.SerializeToString())
        )
        return self.new("google.protobuf.Empty")  # pragma: no cover - abort raises

    def Sleep(self, request: Any, context: grpc.ServicerContext) -> Any:
        response = self.new("SleepResponse")
        remaining = context.time_remaining()
        if remaining is not None:
            response.time_remaining.FromNanoseconds(int(remaining * 1e9))
        seconds = request.duration.ToTimedelta().total_seconds()
        self._wait(seconds, context)
        response.slept.FromNanoseconds(int(seconds * 1e9))
        return response

    @staticmethod
    def _wait(seconds: float, context: grpc.ServicerContext) -> None:
        """Sleep up to `seconds`, stopping early when the call ends (deadline or cancel)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and context.is_active():
            time.sleep(min(0.01, max(seconds, 0.0)))

    def EchoMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        entries = []
        for key, value in context.invocation_metadata():
            if isinstance(value, bytes):
                entries.append(self.new("MetadataEntry", key=key, binary_value=value))
            else:
                entries.append(self.new("MetadataEntry", key=key, value=value))
        headers = self._metadata(request.response_headers, context)
        trailers = self._metadata(request.response_trailers, context)
        if headers:
            context.send_initial_metadata(headers)
        if trailers:
            context.set_trailing_metadata(trailers)
        return self.new("EchoMetadataResponse", received=entries, peer=context.peer())

    def _metadata(
        self, pairs: Any, context: grpc.ServicerContext
    ) -> tuple[tuple[str, str | bytes], ...]:
        """Requested metadata as gRPC takes it; INVALID_ARGUMENT for what gRPC would refuse."""
        result: list[tuple[str, str | bytes]] = []
        for key, value in pairs.items():
            if not _METADATA_KEY.fullmatch(key) or not _METADATA_VALUE.fullmatch(value):
                self.abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{key!r}: {value!r} is not valid gRPC metadata (keys: a-z 0-9 - _ .;"
                    " values: printable ASCII)",
                )
            result.append((key, value.encode() if key.endswith("-bin") else value))
        return tuple(result)

    def Stream(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        for index in range(request.count):
            if request.fail_after and index == request.fail_after:
                code = _status_code(request.fail_code or grpc.StatusCode.INTERNAL.value[0])
                self.abort(context, code, f"failed after {index} messages")
            item = self.new("StreamItem", index=index, payload="x" * request.payload_size)
            item.time.FromSeconds(1_700_000_000 + index)
            yield item

    def Chat(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        for sequence, message in enumerate(requests, start=1):
            yield self.new("ChatMessage", text=message.text, sequence=sequence)

    def Ping(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.new("PingResponse", text=request.text or "pong")


_METADATA_KEY = re.compile(r"[0-9a-z_.\-]+")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")


@dataclass(frozen=True)
class _RpcStatus(grpc.Status):  # type: ignore[misc]
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, bytes], ...]

    def __init__(self, code: int, message: str, status_bytes: bytes) -> None:
        object.__setattr__(self, "code", _status_code(code))
        object.__setattr__(self, "details", message)
        object.__setattr__(self, "trailing_metadata", (("grpc-status-details-bin", status_bytes),))


def _status_code(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def generic_handlers(backend: LibraryBackend) -> list[grpc.GenericRpcHandler]:
    """One generic handler per service, built from the descriptors."""
    handlers = []
    for service in (LIBRARY, DEBUG):
        methods = {}
        for info in backend.registry.methods.values():
            if info.service == service:
                methods[info.name] = _rpc_handler(backend, info)
        handlers.append(grpc.method_handlers_generic_handler(service, methods))
    return handlers


def _rpc_handler(backend: LibraryBackend, info: descriptors.MethodInfo) -> grpc.RpcMethodHandler:
    request_class = backend.registry.message_class(info.input)
    implementation = getattr(backend, info.name)
    kinds = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }
    factory = kinds[(info.client_streaming, info.server_streaming)]
    return factory(
        implementation,
        request_deserializer=request_class.FromString,
        response_serializer=_serialize,
    )


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def start(
    address: str = "127.0.0.1:0",
    *,
    registry: Registry | None = None,
    reflection: bool = True,
    health: bool = True,
    max_workers: int = 8,
    credentials: grpc.ServerCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> RunningBackend:
    """Start the example backend on `address`; the port is chosen when it ends in `:0`.

    `credentials` serve TLS (tests of grpcs:// and mutual TLS); `options` are gRPC server
    options (e.g. a keepalive ping policy).
    """
    backend = LibraryBackend(registry or load_registry())
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=options)
    server.add_generic_rpc_handlers(generic_handlers(backend))
    if health:
        _add_health(server)
    if reflection:
        _add_reflection(server, backend.registry, health=health)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    server.start()
    logger.info("example backend listening on %s", address.rsplit(":", 1)[0] + f":{port}")
    return RunningBackend(server, port, backend)


def _add_health(server: grpc.Server) -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for service in ("", LIBRARY, DEBUG):
        servicer.set(service, health_pb2.HealthCheckResponse.SERVING)


def _add_reflection(server: grpc.Server, registry: Registry, *, health: bool) -> None:
    """Server reflection v1 and v1alpha, as `descriptors fetch --reflection` reads it.

    Like a real server, it lists grpc.health.v1.Health when that is served (clients that
    fetch every service leave `grpc.*` out unless named).
    """
    from grpc_transcoder_tools import reflection

    services = [LIBRARY, DEBUG]
    pool = registry.pool
    if health:
        from grpc_health.v1 import health_pb2

        pool = _pool_with(registry, health_pb2.DESCRIPTOR)
        services.append(HEALTH)
    reflection.enable(server, pool=pool, services=services)


def _pool_with(registry: Registry, extra: FileDescriptor) -> descriptor_pool.DescriptorPool:
    """A pool of the registry's files and `extra` (with its imports): the registry's own pool
    stays as loaded, since the tests share it."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: FileDescriptor) -> None:
        if file.name in added:
            return
        added.add(file.name)
        for dependency in file.dependencies:
            add(dependency)
        pool.AddSerializedFile(file.serialized_pb)

    for name in registry.files:
        add(registry.pool.FindFileByName(name))
    add(extra)
    return pool
