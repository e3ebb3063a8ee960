"""A gunicorn worker's close after a response (config/sockets.py), over real TCP connections on loopback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from config.sockets import close_lingering_if_unread
from tests.outages import free_port, gunicorn_as_deployed, wait_until
from tests.test_outages import database_url

RESPONSE = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 65536\r\n\r\n" + b"x" * 65536


@pytest.fixture
def connection():
    """(server side, client side) of one accepted TCP connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    yield server, client
    client.close()
    server.close()


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_nothing_unread_closes_at_once_and_the_response_arrives_whole(connection):
    server, client = connection
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert server.recv(4096) == b"GET / HTTP/1.1\r\n\r\n"  # the request read whole
    server.sendall(RESPONSE)
    server.settimeout(5)  # as a worker may have left it: no waiting for something to read either
    started = time.monotonic()
    close_lingering_if_unread(server)
    # gunicorn's own close would wait here for the client to close first (up to 2 s): nobody else is served.
    assert time.monotonic() - started < 0.5
    assert read_all(client) == RESPONSE


def test_bytes_left_unread_are_drained_so_the_response_is_not_reset(connection):
    server, client = connection
    client.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
    client.sendall(b"y" * 100_000)  # a body the app refused without reading (a 413, a 401)
    time.sleep(0.1)
    server.recv(64)
    server.sendall(RESPONSE)
    closing = threading.Thread(target=close_lingering_if_unread, args=(server,))
    closing.start()
    time.sleep(0.2)  # the server has closed its side before the client reads a byte
    assert read_all(client) == RESPONSE  # a plain close would have reset the connection
    client.close()
    closing.join(timeout=5)
    assert not closing.is_alive()


def ask(port: int) -> socket.socket:
    """A request whose whole response has been read, on a connection the client has not closed yet."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /api/v1/orders/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert read_all(sock).startswith(b"HTTP/1.1 401")
    return sock


@pytest.mark.django_db(transaction=True)
def test_a_gunicorn_worker_as_deployed_serves_the_next_client_while_the_last_one_has_not_closed(settings, tmp_path):
    port = free_port()
    server = gunicorn_as_deployed(
        port, workers=1, database_url=database_url(), redis_url=settings.REDIS_URL, metrics_dir=tmp_path / "metrics"
    )
    try:
        wait_until(lambda: _answers(port), timeout=30, interval=0.3)
        first = ask(port)  # read, not closed: gunicorn 27's own close would wait up to 2 s for it
        started = time.monotonic()
        ask(port).close()
        assert time.monotonic() - started < 1
        first.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        ask(port).close()
    except OSError:
        return False
    return True
