# Sanity of the harness itself: runs on MicroPython, not CPython.
import sys


def test_runs_on_micropython():
    assert sys.implementation.name == "micropython"


def test_fakes_first_on_path():
    assert sys.path.index("/fakes") < sys.path.index("/fw")


async def test_async_tests_are_awaited():
    import asyncio

    await asyncio.sleep_ms(1)
