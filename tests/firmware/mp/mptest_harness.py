# Sanity of the harness itself: runs on MicroPython, not CPython.
import sys

# Set by the async test only after its await returns; the runner takes tests in name order, so the next
# test sees it. A runner that called the coroutine function without awaiting it would leave it False.
_awaited = []


def test_runs_on_micropython():
    assert sys.implementation.name == "micropython"


def test_fakes_first_on_path():
    assert sys.path.index("/fakes") < sys.path.index("/fw")


async def test_async_tests_are_awaited():
    import asyncio

    await asyncio.sleep_ms(1)
    _awaited.append(True)


def test_async_tests_ran_past_their_await():
    # sorted after test_async_tests_are_awaited
    assert _awaited == [True], "the async test's body after its await never ran"
