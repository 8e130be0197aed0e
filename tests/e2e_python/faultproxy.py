"""A TCP proxy in front of the server that can lose the server's answers, drop every
connection, or refuse new ones: the faults a client's retries and resumption are for.

It understands just enough HTTP/2 to lose an answer at the right moment: the server sends
a HEADERS frame on a request's stream only once the call is done (the write committed),
so closing the connection instead of forwarding that frame is a reply lost on the way
back, after the server acted on the request.
"""

from __future__ import annotations

import socket
import threading

FRAME_HEADER = 9
HEADERS = 0x1


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.refusing = False
        self.accepted = 0
        self.lost = 0
        self._to_lose = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_answers(self, count: int = 1) -> None:
        """The next `count` answers of the server are not forwarded: their connection is
        closed instead."""
        with self._lock:
            self._to_lose += count

    def drop_all(self) -> None:
        """Closes every open connection, as a network that went away would."""
        with self._lock:
            sockets = list(self._open)
        for s in sockets:
            _close(s)

    def close(self) -> None:
        self._closed = True
        _close(self._listener)
        self.drop_all()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            host, _, port = self.upstream.rpartition(":")
            try:
                if self.refusing:
                    raise ConnectionRefusedError("the proxy refuses")
                server = socket.create_connection((host, int(port)), timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        self._end(src, dst)

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        """Forwards the server's bytes frame by frame, losing the armed answers."""
        pending = b""
        try:
            while data := server.recv(65536):
                pending += data
                while len(pending) >= FRAME_HEADER:
                    length = int.from_bytes(pending[0:3], "big")
                    if len(pending) < FRAME_HEADER + length:
                        break
                    kind, stream = pending[3], int.from_bytes(pending[5:9], "big") & 0x7FFFFFFF
                    if kind == HEADERS and stream != 0 and self._take_loss():
                        self._end(server, client)
                        return
                    client.sendall(pending[: FRAME_HEADER + length])
                    pending = pending[FRAME_HEADER + length :]
        except OSError:
            pass
        self._end(server, client)

    def _take_loss(self) -> bool:
        with self._lock:
            if self._to_lose == 0:
                return False
            self._to_lose -= 1
            self.lost += 1
            return True

    def _end(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(sockets)
        for s in sockets:
            _close(s)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
