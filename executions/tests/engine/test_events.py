"""The publisher of live events survives the event loops it delivers through."""

import asyncio

from executions.engine.events import Publisher


def test_publishing_after_the_attached_loop_closed_neither_raises_nor_blocks():
    publisher = Publisher()

    async def watcher_connects():
        publisher.attach(asyncio.get_running_loop())

    asyncio.run(watcher_connects())

    publisher.publish("0" * 32, {"type": "execution.output", "seq": 1, "stream": "stdout", "text": "x"})


def test_a_watcher_on_a_new_loop_takes_over_from_a_closed_one():
    publisher = Publisher()
    loops = []

    async def watcher_connects():
        loops.append(asyncio.get_running_loop())
        publisher.attach(loops[-1])

    asyncio.run(watcher_connects())
    asyncio.run(watcher_connects())

    assert publisher._loop is loops[1]
