"""Gathers questions from concurrent chats into small `engine.ask_many` batches.

Encoding a question is CPU-bound and must not run on the event loop, and encoding eight
questions at once costs little more than encoding one. So handlers `await batcher.ask(q)`; a
single worker task waits for the first question, collects more for a few milliseconds (or until
`max_batch`), and runs one `ask_many` in a worker thread. While a batch is being encoded the next
questions queue up and form the next batch, so under load batches grow by themselves and at
most one encode runs at a time (the machine has few cores; two encodes would only fight).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from embeddings.records import Answer

from .tasks import cancel

log = logging.getLogger(__name__)

AskMany = Callable[[list[str], int], Sequence[Answer]]


@dataclass
class _Pending:
    question: str
    future: asyncio.Future[Answer] = field(repr=False)


class AskBatcher:
    """`await ask(question)` -> Answer, batched. `start()` in the running loop; `stop()` last."""

    def __init__(
        self, ask_many: AskMany, k: int, window: float = 0.01, max_batch: int = 16
    ) -> None:
        self._ask_many = ask_many
        self._k = k
        self._window = window
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.in_flight: int = 0  # questions asked and not yet answered (queued or encoding)
        self.batches: int = 0  # batches run, for logs and tests
        self.largest_batch: int = 0

    def start(self) -> None:
        """Start the worker task; must be called with the bot's event loop running."""
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="ask-batcher")

    async def stop(self) -> None:
        """Cancel the worker and fail whatever is still waiting, so shutdown never hangs."""
        await cancel(self._worker)
        self._worker = None
        if self._queue is not None:
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if not item.future.done():
                    item.future.cancel()

    async def ask(self, question: str) -> Answer:
        if self._queue is None or self._worker is None:
            raise RuntimeError("AskBatcher.start() was not called")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.in_flight += 1
        try:
            await self._queue.put(_Pending(question, future))
            return await future
        finally:
            self.in_flight -= 1

    @property
    def busy(self) -> bool:
        """More questions in flight than one batch takes: answers are queueing up."""
        return self.in_flight > self._max_batch

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self._window
            while len(batch) < self._max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    # Take what is already waiting without waiting any longer.
                    try:
                        batch.append(queue.get_nowait())
                        continue
                    except asyncio.QueueEmpty:
                        break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            batch = [p for p in batch if not p.future.done()]  # asker gave up (e.g. shutdown)
            if batch:
                try:
                    await self._answer(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the worker must outlive any one batch
                    log.error("answering a batch failed: %s: %s", type(exc).__name__, exc)
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(exc)

    async def _answer(self, batch: list[_Pending]) -> None:
        questions = [p.question for p in batch]
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            answers = await asyncio.to_thread(self._ask_many, questions, self._k)
            if len(answers) != len(batch):
                raise RuntimeError(f"ask_many returned {len(answers)} answers for {len(batch)}")
        except asyncio.CancelledError:
            for p in batch:
                if not p.future.done():
                    p.future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - isolate the question that broke the batch
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            log.warning("batch of %d failed (%s); asking one by one", len(batch), exc)
            for p in batch:
                await self._answer([p])
            return
        for p, answer in zip(batch, answers, strict=True):
            if not p.future.done():
                p.future.set_result(answer)
        if len(batch) > 1:
            log.debug("answered a batch of %d questions", len(batch))
