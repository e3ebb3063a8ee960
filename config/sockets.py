"""How a gunicorn worker closes a client's connection after the response (installed by config/gunicorn.py)."""

from __future__ import annotations

import socket

from gunicorn import util

_graceful = util.close_graceful


def close_lingering_if_unread(sock: socket.socket, timeout: float = 2.0, max_drain: int = 65536) -> None:
    """Close at once, unless the client left bytes unread: then gunicorn's lingering close.

    gunicorn 27 lingers after every response (RFC 9112 §9.6): it half-closes and waits for the client to close
    first, so that bytes the client sent and nobody read cannot turn the close into a reset that loses the
    response. A sync worker serves nobody meanwhile: a client that reads its answer and keeps the connection
    open holds the worker for 2 s, and a few such clients hold every worker. The reset only happens when
    something is unread, so, as nginx's `lingering_close auto`, the worker lingers only then.
    """
    try:
        sock.setblocking(False)  # with a timeout set, Python would wait for something to read
        waiting = sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        waiting = b""  # nothing unread, the client still open: nothing to reset
    except OSError:
        waiting = b""  # reset or gone already
    if waiting:
        _graceful(sock, timeout=timeout, max_drain=max_drain)
    else:
        util.close(sock)


def install() -> None:
    util.close_graceful = close_lingering_if_unread
