"""Ending a connection without a proper HTTP answer: the "timeout", "reset" and cut faults."""

from __future__ import annotations

import socket
import struct
from typing import NoReturn

from aiohttp import web

# SO_LINGER on with a zero timeout makes close() send RST instead of FIN.
_LINGER_RESET = struct.pack("ii", 1, 0)


class ConnectionDropped(Exception):
    """Raised after the mock ended the connection on purpose; no answer follows."""


def drop_connection(request: web.BaseRequest, *, reset: bool) -> NoReturn:
    """Close the connection: with RST when ``reset`` (ECONNRESET at the client), else FIN.

    A FIN still delivers what was already written (a cut stream's tokens); an RST may not.
    """
    transport = request.transport
    if transport is not None:
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            transport.abort()
        else:
            transport.close()
    raise ConnectionDropped
