"""Run the embedded amqtt broker on ``127.0.0.1:PORT`` until SIGTERM (a killable test broker)."""

import asyncio
import signal
import sys

from tools.stack.broker import EmbeddedBroker


async def main(port: int) -> None:
    broker = EmbeddedBroker("127.0.0.1", port)
    await broker.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await broker.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
