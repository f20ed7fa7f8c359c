"""A TCP proxy that can turn into a black hole, for the image-store outage benchmark.

    python3 bench/blackhole_proxy.py LISTEN_PORT UPSTREAM_PORT

Forwards connections to 127.0.0.1:UPSTREAM_PORT. SIGUSR1 toggles black-hole mode: existing
connections are cut, new ones are accepted and never answered (the failure only a timeout
catches). Standard library only.
"""

import asyncio
import signal
import sys

black_hole = False
connections = set()


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer, upstream_port):
    task = asyncio.current_task()
    connections.add(task)
    try:
        if black_hole:
            await asyncio.Event().wait()  # hold the connection, say nothing
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        client_writer.close()
        connections.discard(task)


def toggle():
    global black_hole
    black_hole = not black_hole
    for task in list(connections):
        task.cancel()
    print(f"black hole {'on' if black_hole else 'off'}", flush=True)


async def main():
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, toggle)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream), "127.0.0.1", listen
    )
    async with server:
        await server.serve_forever()


asyncio.run(main())
