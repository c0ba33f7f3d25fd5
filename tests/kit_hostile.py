"""Servers that answer as a hostile vendor would, on loopback: what the simulators never do."""

from __future__ import annotations

import socket
import threading
import time

BODY = b'{"data": [1, 2, 3]}'


class DripServer:
    """Answers each request on a kept-alive connection: `mode` 'body' drips the body after
    prompt headers, 'headers' drips the status line and headers, 'prompt' answers at once."""

    def __init__(self, mode: str, gap: float = 0.2) -> None:
        self.mode, self.gap = mode, gap
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.served = 0
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/things"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while not self.closed.is_set():
                try:
                    if not conn.recv(65536):
                        return
                    head = (
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
                    )
                    self.served += 1
                    if self.mode == "headers":
                        self._drip(conn, head + BODY)
                    elif self.mode == "body":
                        conn.sendall(head)
                        self._drip(conn, BODY)
                    else:
                        conn.sendall(head + BODY)
                except OSError:
                    return

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            time.sleep(self.gap)

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
