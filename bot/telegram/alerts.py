"""Alerts: when readouts new to the index arrive, each chat that follows a topic they answer gets
the point, once.

Where a readout came from does not matter (a feed check, `readout add` or a hand edit in another
process): a pass runs at start and whenever the reloader swaps in a newer index (reload.py calls
`notice`). A pass compares the index's readouts and their content hashes with those the state
file has already matched (follows.py), so readouts that arrived while the bot was down are
announced when it comes back, and nothing is matched twice. On the very first start the readouts
already there are recorded without alerts: they are not new.

Each new readout's points are matched against every followed topic by the engine, the way a
question is answered (embeddings/search/topics.py). A point that answers a topic goes to every chat
following it (one message per chat and point, naming each of the chat's topics it answers), and
is recorded in `sent` at once, so a restart does not send it again. Of an edited readout, only
points whose text is new are sent.

Messages go through the application's bot, so they keep to the same flood limits as answers (the
rate limiter paces them, waits out 429s). A chat that blocked the bot or removed it from the
group (403 Forbidden) has its follows dropped, and the other chats' alerts go on. A failure that
may pass (Telegram out of reach) leaves the readout unrecorded, and the pass is tried again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, TelegramError

from . import buttons, render, retry
from .catalog import readout_key
from .follows import Follow, FollowStore, topic_key

if TYPE_CHECKING:
    from embeddings.engine import Engine
    from embeddings.records import Hit
    from embeddings.search.topics import Arrival, TopicMatch

log = logging.getLogger(__name__)

RETRY_AFTER_S = 60.0  # a pass that could not deliver everything is tried again after this
STOP_GRACE_S = 5.0  # at shutdown, the message being sent may finish


@dataclass
class Alert:
    """One message for one chat: a new readout's point and the chat's topics it answers."""

    chat_id: int
    doc: str
    point_key: str
    hit: Hit
    topics: list[str] = field(default_factory=list)


def render_alert(alert: Alert) -> str:
    """`New readout on a topic you follow: grave visits`, then the point as answers show it."""
    topics = ", ".join(f"“{render.esc(t)}”" for t in alert.topics)
    kind = "a topic" if len(alert.topics) == 1 else "topics"
    head = f"🔔 <b>New readout</b> on {kind} you follow: {topics}"
    return "\n\n".join([head, render.render_hit(alert.hit), "<i>/following lists the topics this chat follows.</i>"])


def plan(arrivals: list[Arrival], matches: list[TopicMatch], topics: list[list[Follow]],
         old_points: dict[str, set[str]]) -> list[Alert]:
    """The alerts to send: per chat and point, the chat's topics the point answers. `topics[i]`
    are the follows of the i-th distinct topic text; points an edited readout had already are left out."""
    alerts: dict[tuple[int, str, str], Alert] = {}
    order = {a.doc: n for n, a in enumerate(arrivals)}
    for m in sorted(matches, key=lambda m: (order.get(m.hit.doc, 0), m.topic)):
        if m.point_key in old_points.get(m.hit.doc, ()):
            continue
        for f in topics[m.topic]:
            key = (f.chat_id, m.hit.doc, m.point_key)
            alert = alerts.setdefault(key, Alert(f.chat_id, m.hit.doc, m.point_key, m.hit))
            if f.topic not in alert.topics:
                alert.topics.append(f.topic)
    return list(alerts.values())


class Alerter:
    """Runs passes in a background task; `notice()` asks for one (cheap, never waits)."""

    def __init__(self, bot_holder: Any, engine: Engine, store: FollowStore,
                 allowed: Callable[[int], bool]) -> None:
        self.app = bot_holder  # anything with `.bot` (the Application): what send_html takes
        self.engine = engine
        self.store = store
        self.allowed = allowed
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._retry: asyncio.TimerHandle | None = None
        self.passes = 0  # for the log and tests: passes completed

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="alerts")
            self._wake.set()  # the catch-up pass: readouts that arrived while the bot was down

    def notice(self) -> None:
        """A newer index is in use: look for new readouts (soon, in the background)."""
        self._wake.set()

    async def stop(self) -> None:
        """Let a message being sent finish (so it is recorded), then stop."""
        self._stopping = True
        if self._retry is not None:
            self._retry.cancel()
        task, self._task = self._task, None
        if task is None:
            return
        self._wake.set()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_S)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                complete = await self.run_pass()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a bad pass must not end the alerts
                log.warning("alerts: the pass failed, trying again in %.0f s: %s", RETRY_AFTER_S,
                            retry.describe(e))
                complete = False
            self.passes += 1
            if not complete and not self._stopping:
                loop = asyncio.get_running_loop()
                self._retry = loop.call_later(RETRY_AFTER_S, self._wake.set)

    async def run_pass(self) -> bool:
        """Match the readouts new since the last pass and send their alerts; False when some
        could not be delivered (they are tried again)."""
        known = self.store.readout_hashes()
        arrivals = await asyncio.to_thread(self.engine.arrivals, known)
        if not self.store.has_baseline:
            self.store.remember(((a.doc, a.hash, a.points) for a in arrivals), baseline=True)
            log.info("alerts: %d readout(s) already here; readouts that arrive from now on are announced",
                     len(arrivals))
            return True
        if not arrivals:
            return True
        follows = self.store.all_follows()
        alerts: list[Alert] = []
        if follows:
            by_topic: dict[str, list[Follow]] = {}
            for f in follows:
                by_topic.setdefault(topic_key(f.topic), []).append(f)
            groups = list(by_topic.values())
            texts = [g[0].topic for g in groups]
            docs = [a.doc for a in arrivals]
            matches = await asyncio.to_thread(self.engine.match_topics, texts, docs)
            alerts = plan(arrivals, matches, groups, self.store.points_of(docs))
        log.info("alerts: %d new or changed readout(s), %d alert(s) to send", len(arrivals), len(alerts))
        unsettled = await self._deliver(alerts)
        self.store.remember((a.doc, a.hash, a.points) for a in arrivals if a.doc not in unsettled)
        return not unsettled

    async def _deliver(self, alerts: list[Alert]) -> set[str]:
        """Send each alert not sent before; the docs with an alert that must be tried again."""
        from .handlers import send_html

        unsettled: set[str] = set()
        gone: set[int] = set()
        for alert in alerts:
            if self._stopping:
                unsettled.add(alert.doc)
                continue
            if alert.chat_id in gone or not self.allowed(alert.chat_id):
                continue
            if self.store.was_sent(alert.chat_id, alert.doc, alert.point_key):
                continue
            keyboard = buttons.answer_keyboard(None, None, [(readout_key(alert.doc), alert.hit.name or alert.hit.title)])
            text = render_alert(alert)
            chat_id = alert.chat_id
            for _ in range(2):  # a second time only to a group's new id
                try:
                    await send_html(self.app, chat_id, text, keyboard)
                except ChatMigrated as e:
                    log.info("alerts: chat %s is now %s; its follows moved", chat_id, e.new_chat_id)
                    self.store.move_chat(chat_id, e.new_chat_id)
                    chat_id = e.new_chat_id
                    continue
                except Forbidden as e:
                    n = self.store.drop_chat(chat_id)
                    gone.add(chat_id)
                    log.info("alerts: chat %s refused the bot (%s); dropped its %d follow(s)", chat_id, e.message, n)
                except BadRequest as e:  # Telegram will not take it: sending again would not help
                    log.warning("alerts: Telegram refused an alert to chat %s: %s", chat_id, e.message)
                    self.store.record_sent(chat_id, alert.doc, alert.point_key)
                except NetworkError as e:
                    if retry.may_have_arrived(e):  # it may have been delivered: not sent again
                        self.store.record_sent(chat_id, alert.doc, alert.point_key)
                    else:
                        log.warning("alerts: cannot reach Telegram (%s); trying again later", retry.describe(e))
                        unsettled.add(alert.doc)
                except TelegramError as e:
                    log.warning("alerts: an alert to chat %s failed: %s", chat_id, retry.describe(e))
                    unsettled.add(alert.doc)
                else:
                    self.store.record_sent(chat_id, alert.doc, alert.point_key)
                    log.debug("alerts: sent %s %s to chat %s", alert.doc, alert.hit.label, chat_id)
                break
        return unsettled
