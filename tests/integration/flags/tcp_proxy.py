"""A TCP proxy in front of PostgreSQL that a test can cut and restore, to fake an outage."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from tests.database import database_name, socket_dir


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to a target; ``cut()`` drops every connection.

    The target is a TCP ``host:port`` or, when ``target_host`` is a directory, the PostgreSQL
    Unix socket in it (an embedded server listens only there).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @classmethod
    def in_front_of(cls, database_url: str) -> TcpProxy:
        """A proxy to the server of ``database_url``, over TCP or its Unix socket."""
        url = urlsplit(database_url)
        return cls(socket_dir(database_url) or url.hostname or "127.0.0.1", url.port or 5432)

    def url_to(self, database_url: str) -> str:
        """``database_url``'s database reached through this proxy (after ``start()``)."""
        user = urlsplit(database_url).username or "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database_name(database_url)}"

    async def start(self) -> None:
        """Listen (on the same port as before, after a ``cut``)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._connect()
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = self._target
        if host.startswith("/"):
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
