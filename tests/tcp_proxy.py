"""A loopback TCP proxy for connection-failure tests: it passes bytes, resets, or black-holes.

`reset_all()` closes every open connection with a TCP RST (what a restarted load balancer or
backend does); `reset_on_next_request()` does so only when the client next writes (a request
already sent on a connection the other side forgot); `blackhole_all()` keeps them open but drops every byte in both directions (what
lost NAT/conntrack state looks like from the client). New connections always pass.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from dataclasses import dataclass, field

POLL_SECONDS = 0.02


@dataclass(eq=False)
class _Link:
    client: socket.socket
    upstream: socket.socket
    blackholed: bool = False
    reset: bool = False
    reset_on_request: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            self._pump()
        finally:
            self._close()
            self.done.set()

    def _pump(self) -> None:
        sockets = [self.client, self.upstream]
        while not self.reset:
            readable, _, _ = select.select(sockets, [], [], POLL_SECONDS)
            for sock in readable:
                data = _recv(sock)
                if not data:
                    return
                if self.reset_on_request and sock is self.client:
                    self.reset = True  # the client's bytes are answered with RST, not sent
                    return
                if not self.blackholed and not _send(self._peer(sock), data):
                    return

    def _peer(self, sock: socket.socket) -> socket.socket:
        return self.upstream if sock is self.client else self.client

    def _close(self) -> None:
        if self.reset:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            for sock in (self.client, self.upstream):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.client.close()
        self.upstream.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


class TcpProxy:
    """Listens on 127.0.0.1 (port 0) and forwards every connection to `upstream`."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._closed = False
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._closed:
            readable, _, _ = select.select([self._listener], [], [], POLL_SECONDS)
            if not readable:
                continue
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._upstream)
            except OSError:
                continue
            self._start(_Link(client, upstream))

    def _start(self, link: _Link) -> None:
        with self._lock:
            self._links.append(link)
            self.accepted += 1
        threading.Thread(target=link.run, name="tcp-proxy-link", daemon=True).start()

    def _open_links(self) -> list[_Link]:
        with self._lock:
            self._links = [link for link in self._links if not link.done.is_set()]
            return list(self._links)

    @property
    def open_connections(self) -> int:
        return len(self._open_links())

    def reset_all(self) -> int:
        """Reset every open connection; returns how many there were."""
        links = self._open_links()
        for link in links:
            link.reset = True
        for link in links:
            link.done.wait(5)
        return len(links)

    def reset_on_next_request(self) -> int:
        """Answer the next bytes a client sends on each open connection with a reset."""
        links = self._open_links()
        for link in links:
            link.reset_on_request = True
        return len(links)

    def blackhole_all(self) -> int:
        """Silently drop all traffic of every open connection; returns how many there were."""
        links = self._open_links()
        for link in links:
            link.blackholed = True
        return len(links)

    def close(self) -> None:
        self._closed = True
        self._thread.join(5)
        self.reset_all()
        self._listener.close()
