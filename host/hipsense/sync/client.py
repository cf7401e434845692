"""Requests and replies over a :class:`~hipsense.sync.transport.Transport`, with retries and backoff.

Every request gets a fresh request id; a reply whose id is not outstanding (late, duplicated) is
ignored. A request is taken as lost when nothing at all arrived for ``timeout_s`` since it was sent
(replies to earlier requests keep it waiting: a slow link is not a lost frame), or when no request was
answered for ``max_wait_s`` whatever else arrived (a peer that streams noise, replies to ids nobody
asked for or a reply one byte at a time cannot hold a request open for ever); it is then sent again
with a fresh id, up to ``retries`` times, waiting ``backoff_s * 2**k`` (at most 2 s) before the k-th
resend. Several requests may be in flight at once (the engine keeps a window of READs going). Fast
resend: the device answers in order and both links deliver in order, so when a reply arrives, every
request sent before it and still unanswered was lost (its request or its reply) and is sent again at
once, without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from hipsense.sync import protocol as P
from hipsense.sync.errors import DeviceRefused, LinkLost, NoReply
from hipsense.sync.transport import Transport

T = TypeVar("T")


@dataclass
class ClientCounters:
    requests: int = 0
    resends: int = 0
    ignored_replies: int = 0
    bad_replies: int = 0
    dropped_unsolicited: int = 0


#: Longest a request waits while bytes arrive but nothing is answered: a 4 KiB reply at MTU 23 on a slow
#: connection interval (20 bytes per 30 ms) takes about 6 s.
MAX_WAIT_S = 20.0

#: LIVE packets held for a reader: about 80 s of them at 208 Hz; beyond that the oldest are dropped
#: (their sequence numbers show the gap as lost packets), so a peer that floods them, or a sync that
#: never reads them, holds a bounded amount of memory.
UNSOLICITED_MAX = 1024

# What a pending request's future gets instead of a reply (results, not exceptions: a request cancelled
# meanwhile never leaves an unretrieved exception behind).
_OVERTAKEN = P.Frame(-1, -1, b"")  # a later request was answered first: this one was lost
_LOST = P.Frame(-2, -1, b"")  # the link dropped


class Client:
    """Sends requests and matches replies by request id."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 1.0,
        retries: int = 6,
        backoff_s: float = 0.05,
        max_wait_s: float = MAX_WAIT_S,
    ):
        self.transport = transport
        self.timeout_s = timeout_s
        self.max_wait_s = max_wait_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.counters = ClientCounters()
        self._ids = itertools.count(P.FIRST_REQUEST_ID)
        self._pending: dict[int, asyncio.Future[P.Frame]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self._lost: LinkLost | None = None
        self._last_rx = 0.0  # time.monotonic() of the last frame received
        self._last_reply = 0.0  # ... and of the last reply to a request still waiting for it
        #: frames the device sends unasked (LIVE packets)
        self.unsolicited: asyncio.Queue[P.Frame] = asyncio.Queue(UNSOLICITED_MAX)

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.transport.recv()
                self._last_rx = time.monotonic()
                if frame.type == P.Type.LIVE:
                    if self.unsolicited.full():
                        self.unsolicited.get_nowait()
                        self.counters.dropped_unsolicited += 1
                    self.unsolicited.put_nowait(frame)
                    continue
                fut = self._pending.get(frame.req_id)
                if fut is None or fut.done():
                    self.counters.ignored_replies += 1
                    continue
                # The device answers in order and the links deliver in order, so every request sent
                # before this one and still unanswered has lost its request or its reply: resend now.
                for req in list(self._pending):  # dicts keep insertion (= send) order
                    if req == frame.req_id:
                        break
                    older = self._pending.pop(req)
                    if not older.done():
                        older.set_result(_OVERTAKEN)
                del self._pending[frame.req_id]
                self._last_reply = self._last_rx
                fut.set_result(frame)
        except LinkLost as e:
            self._lost = e
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_result(_LOST)
            self._pending.clear()

    @property
    def lost(self) -> LinkLost | None:
        """Why the link dropped (the transport's own report), None while it is up."""
        return self._lost

    async def _wait(self, fut: asyncio.Future[P.Frame], timeout: float) -> P.Frame | None:
        """The reply, or None once no byte arrived for ``timeout`` since the request went out, or no
        request was answered for ``max_wait_s`` (at least ``timeout``).

        Replies to earlier requests keep a request waiting: on a slow link (BLE at MTU 23) the reply
        to the last request of a window comes after the others, however long they take. Bytes that
        answer nothing (noise, unknown ids, LIVE packets, a reply that never ends) keep it waiting
        only up to the ceiling.
        """
        sent = time.monotonic()
        ceiling = max(self.max_wait_s, timeout)
        wait = timeout
        while True:
            done, _ = await asyncio.wait({fut}, timeout=wait)
            if done:
                return fut.result()
            now = time.monotonic()
            quiet = now - max(sent, self._last_rx, self.transport.last_rx)
            unanswered = now - max(sent, self._last_reply)
            if quiet >= timeout or unanswered >= ceiling:
                return None
            wait = min(timeout - quiet, ceiling - unanswered)

    def _next_id(self) -> int:
        while True:
            req = next(self._ids) & 0xFFFF
            if req not in self._pending:
                return req

    async def request(
        self,
        ftype: P.Type,
        body: bytes = b"",
        parse: Callable[[bytes], T] = bytes,  # type: ignore[assignment]  # T = bytes by default
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
    ) -> T:
        """``parse`` of the body of the reply to one request; raises :class:`DeviceRefused`,
        :class:`NoReply` or :class:`LinkLost`. A reply ``parse`` rejects (FrameError) counts as lost."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        self.counters.requests += 1
        pause = 0.0
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            if self._lost:
                raise self._lost
            if attempt:
                self.counters.resends += 1
                await asyncio.sleep(pause)
            pause = min(2.0, self.backoff_s * 2**attempt)
            req = self._next_id()
            fut: asyncio.Future[P.Frame] = asyncio.get_running_loop().create_future()
            self._pending[req] = fut
            try:
                await self.transport.send(P.seal(ftype, req, body))
                frame = await self._wait(fut, timeout)
            finally:
                self._pending.pop(req, None)
            if frame is None:  # timed out
                continue
            if frame is _LOST:
                raise self._lost or LinkLost(f"lost the link to {self.transport.name}")
            if frame is _OVERTAKEN:
                pause = 0.0  # no need to wait: the link is alive, only this frame was lost
                continue
            if frame.type == P.Type.ERROR:
                try:
                    err = P.error_body(frame.body)
                except P.FrameError:
                    continue
                if err.code == P.ErrorCode.BAD_FRAME:  # our request was damaged on the way: resend
                    continue
                raise DeviceRefused(
                    f"{ftype.name.lower()}: {err.text} (detail {err.detail})", err.code, err.detail
                )
            if frame.type != ftype | P.REPLY:
                continue
            try:
                return parse(frame.body)
            except P.FrameError:
                self.counters.bad_replies += 1
        raise NoReply(
            f"{self.transport.name} did not answer {ftype.name} after {retries + 1} tries ({timeout:g} s of "
            f"silence each, at most {max(self.max_wait_s, timeout):g} s while bytes kept coming)"
        )

    async def close(self) -> None:
        self._reader.cancel()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        finally:
            await self.transport.close()
