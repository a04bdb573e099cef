"""Run an amqtt broker on ``127.0.0.1:PORT`` until SIGTERM (a killable test broker).

Configured like the stack's :class:`tools.stack.embedded_broker.EmbeddedBroker`, but without its
free-port probe: a test restarts the broker on the same port at once, while the killed
broker's connections still linger in TIME_WAIT (the listener itself uses SO_REUSEADDR).
"""

import asyncio
import logging
import signal
import sys

from amqtt.broker import Broker


async def main(port: int) -> None:
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    broker = Broker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "timeout_disconnect_delay": 0,
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    })
    await broker.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
