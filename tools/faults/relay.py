#!/usr/bin/env python3
"""A delaying TCP relay for the fault harness (this machine's kernel has no tc netem).

    relay.py LISTEN_HOST:PORT UPSTREAM_HOST:PORT [--max-connections N]

Run inside a network namespace of the harness (`ip netns exec`): it accepts on LISTEN and
opens one upstream connection per accepted one; every chunk read in either direction is
written to the other side `delay` ms after it was read, in order. The delay starts at 0 and
is set from standard input, one command a line:

    delay MS     from now on, chunks read are held MS ms (already queued ones keep theirs)
    quit         close everything and exit (so does the end of input)

It answers each command with one line on standard output (`ok delay MS`), and prints
`listening HOST:PORT` once it accepts. A reset on one side is passed on as a reset (abort).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from typing import Optional, Set, Tuple


def split(address: str) -> Tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class Relay:
    def __init__(self, upstream: Tuple[str, int], max_connections: int) -> None:
        self.upstream = upstream
        self.delay = 0.0
        self.max_connections = max_connections
        self.writers: Set[asyncio.StreamWriter] = set()

    async def pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: "asyncio.Queue[Tuple[float, Optional[bytes]]]" = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:  # reset: pass it on
                    abort(writer)
                    return
                if not data:  # orderly end of stream
                    try:
                        if writer.can_write_eof():
                            writer.write_eof()
                    except OSError:
                        pass
                    return
                writer.write(data)
                try:
                    await writer.drain()
                except OSError:
                    abort(peer)
                    return

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except OSError:
                    queue.put_nowait((loop.time() + self.delay, None))
                    break
                queue.put_nowait((loop.time() + self.delay, data))
                if not data:
                    break
            await task
        finally:
            if not task.done():
                task.cancel()

    async def serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if len(self.writers) >= 2 * self.max_connections:
            abort(client_writer)
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), timeout=5)
        except (OSError, asyncio.TimeoutError):
            abort(client_writer)
            return
        self.writers.update((client_writer, up_writer))
        try:
            await asyncio.gather(
                self.pipe(client_reader, up_writer, client_writer),
                self.pipe(up_reader, client_writer, up_writer),
            )
        finally:
            for writer in (client_writer, up_writer):
                self.writers.discard(writer)
                try:
                    writer.close()
                except Exception:
                    pass


def abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as the peer that reset did."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    except Exception:
        pass


async def main() -> int:
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    max_connections = 256
    if "--max-connections" in args:
        at = args.index("--max-connections")
        max_connections = int(args[at + 1])
        del args[at : at + 2]
    listen, upstream = split(args[0]), split(args[1])
    relay = Relay(upstream, max_connections)
    server = await asyncio.start_server(relay.serve, listen[0], listen[1], reuse_address=True)
    print(f"listening {listen[0]}:{listen[1]}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        raw = await reader.readline()
        if not raw:
            break
        line = raw.decode(errors="replace").split()
        if not line:
            continue
        if line[0] == "quit":
            break
        if line[0] == "delay" and len(line) == 2:
            relay.delay = max(0.0, float(line[1]) / 1000.0)
            print(f"ok delay {line[1]}", flush=True)
        else:
            print(f"error unknown command {' '.join(line)}", flush=True)
    server.close()
    for writer in list(relay.writers):
        abort(writer)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
