"""The reference's listening socket: connections it accepts have TCP_NODELAY, so a response written in two parts
(headers, then body) is not held back ~40 ms by Nagle's algorithm on a kept-alive connection."""

from __future__ import annotations

import socket

from reference_system.serve import listening_socket


def test_accepted_connections_have_nodelay() -> None:
    server = listening_socket("127.0.0.1", 0)
    try:
        with socket.create_connection(server.getsockname()[:2], timeout=5):
            accepted, _ = server.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.close()
