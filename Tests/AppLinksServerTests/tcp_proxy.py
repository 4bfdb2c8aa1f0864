"""A TCP relay between an AppLinks node and its PostgreSQL server, so that a test can take the database away
(kill this process: every connection drops, new ones are refused) and bring it back (start it again on the
same port), without stopping the PostgreSQL server that other tests share.

usage: tcp_proxy.py LISTEN_PORT TARGET_PORT     prints "ready" once it listens"""
import asyncio
import sys

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def relay(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def main():
    server = await asyncio.start_server(relay, "127.0.0.1", listen_port, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
