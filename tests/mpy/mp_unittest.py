# Runs inside MicroPython: executes every test_* function of one module and prints one result line each.
# Async tests run as tasks: the WebAssembly port's top-level coroutine cannot take an exception raised
# in a coroutine it awaits directly, only one re-raised by a task. Imported by the pytest collector in tests/firmware/conftest.py.
import asyncio
import io
import json
import sys


async def run_module(name):
    mod = __import__(name)
    names = sorted(n for n in dir(mod) if n.startswith("test_"))
    for n in names:
        fn = getattr(mod, n)
        ok, tb = True, ""
        try:
            res = fn()
            if hasattr(res, "send"):  # a coroutine: async test
                await asyncio.create_task(res)
        except Exception as e:  # noqa: BLE001 - report every failure to pytest
            ok = False
            buf = io.StringIO()
            sys.print_exception(e, buf)
            tb = buf.getvalue()
        print("@@RESULT " + json.dumps({"name": n, "ok": ok, "tb": tb}))
