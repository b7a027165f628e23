"""A strict stand-in for the Telegram Bot API, served over real HTTP on 127.0.0.1.

The bot under test talks to it exactly as to Telegram (`TELEGRAM_API_URL=http://127.0.0.1:PORT/bot`):
routes are `/bot<TOKEN>/<method>`, parameters arrive form-encoded (PTB) or as JSON, and answers
are Telegram-shaped (`{"ok": true, "result": ...}` or `{"ok": false, "error_code": 400,
"description": "Bad Request: ..."}`). It refuses what Telegram refuses: malformed HTML, texts over
4096 characters after entity parsing, empty texts, callback data over 64 bytes, edits of unknown
messages or edits that change nothing, unknown or twice-answered callback and inline query ids,
unknown chats. Every refusal is kept in `rejections`, so a test can assert the bot never sent
anything the API refuses.

Tests drive it from their own thread: enqueue updates (`send_text`, `send_photo`, `press`,
`inline`, `my_chat_member`, or any payload with `push_update`), wait for the bot's calls
(`wait_for`, `wait_messages`), inject 429s and 5xx on the next calls of a method (`fail_next`),
lose the answer to a call that was carried out (`drop_next`: the connection closes without a
response, at once or after holding it open past the client's read timeout), and `reset()`
between tests.

Standard library only: `ThreadingHTTPServer` in a daemon thread.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .html import ParseEntitiesError, parse_html, strip_message, utf16_len
from .uploads import PhotoMethods, parse_multipart

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_INLINE_RESULTS = 50
DROP = -1  # handle()'s status for a call whose answer is to be lost (see drop_next)

JSON_PARAMS = {
    "reply_markup",
    "reply_parameters",
    "link_preview_options",
    "results",
    "commands",
    "scope",
    "button",
    "allowed_updates",
    "entities",
    "input_message_content",
}
INT_PARAMS = {"offset", "limit", "timeout", "message_id", "reply_to_message_id", "cache_time",
              "max_connections"}
BOOL_PARAMS = {"drop_pending_updates", "is_personal", "show_alert", "disable_notification",
               "protect_content", "allow_sending_without_reply", "disable_web_page_preview"}
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                "upload_voice", "upload_document", "choose_sticker", "find_location",
                "record_video_note", "upload_video_note"}
BUTTON_ACTIONS = {"url", "callback_data", "switch_inline_query", "switch_inline_query_current_chat",
                  "switch_inline_query_chosen_chat", "login_url", "web_app", "pay",
                  "callback_game", "copy_text"}
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
START_PARAM_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")
MENTION_RE = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9_]{5,32}")


# how long a test waits for the bot before calling it hung: a bound for a busy CI machine, not a
# speed check (how fast the bot answers is measured in benchmarks/bot_load.py)
WAIT_S = 60.0

class ApiError(Exception):
    """A Telegram-shaped error answer."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    @classmethod
    def bad(cls, what: str) -> ApiError:
        return cls(400, f"Bad Request: {what}")


@dataclass
class Sent:
    """A message the bot sent or edited, as the API accepted it."""

    method: str
    chat_id: int
    message_id: int
    text: str  # as sent (HTML)
    plain: str  # as shown
    reply_markup: dict | None
    reply_to: int | None = None
    at: float = field(default_factory=time.monotonic)
    photo: bytes | None = field(default=None, repr=False)  # sendPhoto's upload (uploads.py)

    def buttons(self) -> list[tuple[str, str | None]]:
        """(text, callback_data) of every inline button, row by row."""
        if not self.reply_markup:
            return []
        return [
            (b["text"], b.get("callback_data"))
            for row in self.reply_markup.get("inline_keyboard", [])
            for b in row
        ]

    def button(self, label: str) -> str:
        """The callback data of the first button whose text starts with `label`."""
        for text, data in self.buttons():
            if text.startswith(label) and data is not None:
                return data
        raise KeyError(f"no button {label!r} in {self.buttons()}")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)


class FakeBotAPI(PhotoMethods):
    """The server's state and its Bot API methods; `start()` serves it over HTTP."""

    def __init__(self, token: str, username: str = "readout_test_bot", bot_id: int | None = None) -> None:
        self.token = token
        self.bot_id = bot_id if bot_id is not None else int(token.split(":", 1)[0])
        self.username = username
        self.cond = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._reset_state()
        self.commands: list[dict] = []
        self.webhook: dict[str, Any] = {"url": ""}
        self.webhook_target: str | None = None  # where updates go while a webhook is set

    # --- lifecycle -----------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.updates: list[dict] = []
        self.next_update_id = 1000
        self.chats: dict[int, dict] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self.next_message_id: dict[int, int] = {}
        self.sent: list[Sent] = []
        self.calls: list[Call] = []
        self.rejections: list[tuple[str, str]] = []
        self.injected: list[tuple[str, int]] = []
        self.failures: dict[str, deque[tuple[int, int | None]]] = {}
        self.drops: dict[str, deque[tuple[float, int | None]]] = {}
        self.callback_queries: dict[str, dict] = {}
        self.inline_queries: dict[str, dict] = {}
        self.callback_answers: list[dict] = []
        self.inline_answers: list[dict] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status) of webhook POSTs
        self._poll_generation = 0
        self.blocked: dict[int, str] = {}  # chat id -> the 403 it answers (block_chat)

    def reset(self) -> None:
        """Forget calls, messages and failures (keeps queued updates' ids moving forward)."""
        with self.cond:
            next_id = self.next_update_id
            commands, webhook, generation = self.commands, self.webhook, self._poll_generation
            self._reset_state()
            self.next_update_id = next_id + 1000
            self.commands, self.webhook = commands, webhook
            self._poll_generation = generation  # a reset must not look like a second bot polling
            self.cond.notify_all()

    def clear_records(self) -> None:
        """Forget recorded calls and refusals but keep chats and messages (for a fresh test)."""
        with self.cond:
            self.sent.clear()
            self.calls.clear()
            self.rejections.clear()
            self.injected.clear()
            self.failures.clear()
            self.drops.clear()
            self.callback_answers.clear()
            self.inline_answers.clear()
            self.chat_actions.clear()
            self.deliveries.clear()

    def start(self) -> str:
        """Serve on an ephemeral port; returns the base URL as PTB takes it (…/bot)."""
        api = self

        class Handler(_Handler):
            server_api = api

        class Server(ThreadingHTTPServer):
            # the bot opens a connection per concurrent request (twenty /follow replies at once):
            # the default listen backlog of 5 reset some of them, which a bot must take as
            # "may have been delivered"; Telegram's servers take them all
            request_queue_size = 256

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        return self.base_url

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def stop(self) -> None:
        with self.cond:
            self._poll_generation += 1  # release long polls
            self.cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        """Run one API call; returns (HTTP status, JSON body). For a call `drop_next` chose, the
        status is DROP and the body says how long to hold the connection before closing it."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        name = method.lower()
        impl: Callable[[dict[str, Any]], Any] | None = getattr(self, f"api_{name}", None)
        if impl is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        with self.cond:
            failures = self.failures.get(name)
            if failures:
                code, retry_after = failures.popleft()
                self.injected.append((name, code))
                self.calls.append(Call(name, params, code))
                self.cond.notify_all()
                body: dict[str, Any] = {"ok": False, "error_code": code}
                if code == 429:
                    body["description"] = f"Too Many Requests: retry after {retry_after}"
                    body["parameters"] = {"retry_after": retry_after}
                else:
                    body["description"] = HTTPStatus(code).phrase
                return code, body
        try:
            if name == "getupdates":
                result = self.api_getupdates(params)  # waits without holding the lock
            else:
                with self.cond:
                    result = impl(params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status = exc.code
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            if exc.code == 400:
                with self.cond:
                    self.rejections.append((name, exc.description))
        with self.cond:
            self.calls.append(Call(name, params, status))
            drops = self.drops.get(name)
            chat = str(params.get("chat_id", ""))
            drop = next((d for d in drops or () if d[1] is None or str(d[1]) == chat), None)
            if drop is not None and status == 200:
                drops.remove(drop)
                self.injected.append((name, "dropped"))
                self.cond.notify_all()
                return DROP, {"hold": drop[0]}
            self.cond.notify_all()
        return status, body

    def block_chat(self, chat_id: int) -> None:
        """From now on, whatever the bot sends to `chat_id` is refused with 403 Forbidden, as
        Telegram refuses a user who blocked the bot or a group that removed it."""
        with self.cond:
            kind = self.chats.get(chat_id, {}).get("type", "private")
            self.blocked[chat_id] = ("Forbidden: bot was blocked by the user" if kind == "private"
                                     else "Forbidden: bot was kicked from the group chat")

    def fail_next(self, method: str, times: int = 1, code: int = 429, retry_after: int | None = 1) -> None:
        """Make the next `times` calls of `method` fail with `code` (429 carries retry_after)."""
        with self.cond:
            q = self.failures.setdefault(method.lower(), deque())
            for _ in range(times):
                q.append((code, retry_after if code == 429 else None))

    def drop_next(self, method: str, times: int = 1, hold: float = 0.0,
                  chat_id: int | None = None) -> None:
        """Carry out the next `times` successful calls of `method` (to `chat_id`, if given) as
        usual, so a message is sent, but lose the answer: hold the connection `hold` seconds, then
        close it without a response. The client sees "Server disconnected without sending a
        response", or its own read timeout first."""
        with self.cond:
            q = self.drops.setdefault(method.lower(), deque())
            q.extend([(hold, chat_id)] * times)

    # --- helpers for the API methods ----------------------------------------------------------

    def bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Readout", "username": self.username}

    def _chat(self, params: dict[str, Any]) -> dict:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError.bad("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError.bad("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError.bad("chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, self.blocked[chat_id])
        return chat

    def text_of(self, text: Any, parse_mode: Any) -> tuple[str, list[dict]]:
        """A message text as Telegram reads it (plain text and entities), or the error Telegram gives."""
        if not isinstance(text, str) or not text:
            raise ApiError.bad("message text is empty")
        if parse_mode in (None, ""):
            plain, entities = text, []
        elif str(parse_mode).lower() == "html":
            try:
                plain, entities = parse_html(text)
            except ParseEntitiesError as exc:
                raise ApiError.bad(f"can't parse entities: {exc}") from None
        else:
            raise ApiError.bad(f"unsupported parse_mode {parse_mode!r} in this test server")
        plain, entities = strip_message(plain, entities)
        if not plain:
            raise ApiError.bad("message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise ApiError.bad("message is too long")
        return plain, entities

    def markup_of(self, markup: Any) -> dict | None:
        """An inline keyboard checked as Telegram checks it, or the error Telegram gives."""
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise ApiError.bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup  # other keyboards are not used by this bot; accept as Telegram does
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError.bad("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays")
        for row in rows:
            for b in row:
                if not isinstance(b, dict) or not isinstance(b.get("text"), str) or not b["text"].strip():
                    raise ApiError.bad("BUTTON_TEXT_EMPTY")
                actions = BUTTON_ACTIONS & set(b)
                if len(actions) != 1:
                    raise ApiError.bad("text buttons are unallowed in the inline keyboard")
                if "callback_data" in b:
                    data = b["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                        raise ApiError.bad("BUTTON_DATA_INVALID")
                if "url" in b and not re.match(r"^(https?|tg)://\S+$", str(b["url"])):
                    raise ApiError.bad("BUTTON_URL_INVALID")
        return markup

    def _new_message(self, chat: dict, sender: dict, **fields: Any) -> dict:
        chat_id = chat["id"]
        mid = self.next_message_id.get(chat_id, 1)
        self.next_message_id[chat_id] = mid + 1
        msg = {"message_id": mid, "date": int(time.time()), "chat": chat, **fields}
        if chat["type"] != "channel":
            msg["from"] = sender
        else:
            msg["sender_chat"] = chat
        self.messages[(chat_id, mid)] = msg
        return msg

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> int | None:
        rp = params.get("reply_parameters")
        mid = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(rp, dict):
            mid = rp.get("message_id")
            allow = bool(rp.get("allow_sending_without_reply"))
            if "chat_id" in rp and int(rp["chat_id"]) != chat_id:
                raise ApiError.bad("quoting messages from other chats is not tested here")
        if mid is None:
            return None
        if (chat_id, int(mid)) not in self.messages:
            if allow:
                return None
            raise ApiError.bad("message to be replied not found")
        return int(mid)

    def _bot_message(self, params: dict[str, Any], verb: str = "edit") -> dict:
        if params.get("inline_message_id"):
            raise ApiError.bad("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        try:
            mid = int(params.get("message_id"))
        except (TypeError, ValueError):
            raise ApiError.bad(f"message to {verb} not found") from None
        msg = self.messages.get((chat["id"], mid))
        if msg is None:
            raise ApiError.bad(f"message to {verb} not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise ApiError.bad("message can't be edited")
        return msg

    # --- Bot API methods (called with self.cond held, except getUpdates) -----------------------

    def api_getme(self, params: dict) -> dict:
        return {**self.bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": True, "can_connect_to_business": False,
                "has_main_web_app": False}

    def api_getupdates(self, params: dict) -> list[dict]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(0, int(params.get("timeout") or 0))
        deadline = time.monotonic() + timeout
        with self.cond:
            if self.webhook.get("url"):
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")
            self._poll_generation += 1
            generation = self._poll_generation
            self.cond.notify_all()  # a newer getUpdates terminates an older one, as on Telegram
            if offset is not None:
                offset = int(offset)
                if offset > 0:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                        "that only one bot instance is running")
                if self.updates:
                    return [dict(u) for u in self.updates[:limit]]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self.cond.wait(min(remaining, 0.5))

    def api_setwebhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise ApiError.bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.match(str(secret)):
            raise ApiError.bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = {"url": url, "secret_token": secret,
                        "allowed_updates": params.get("allowed_updates")}
        return True

    def api_deletewebhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = {"url": ""}
        return True

    def api_getwebhookinfo(self, params: dict) -> dict:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    def api_setmycommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError.bad("commands must be an array of at most 100 BotCommand")
        for c in commands:
            if not isinstance(c, dict) or not COMMAND_RE.match(str(c.get("command", ""))):
                raise ApiError.bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise ApiError.bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    def api_getmycommands(self, params: dict) -> list[dict]:
        return list(self.commands)

    def api_sendmessage(self, params: dict) -> dict:
        chat = self._chat(params)
        plain, entities = self.text_of(params.get("text"), params.get("parse_mode"))
        markup = self.markup_of(params.get("reply_markup"))
        reply_to = self._reply_to(chat["id"], params)
        fields: dict[str, Any] = {"text": plain}
        if entities:
            fields["entities"] = entities
        if markup:
            fields["reply_markup"] = markup
        if reply_to is not None:
            fields["reply_to_message"] = self.messages[(chat["id"], reply_to)]
        msg = self._new_message(chat, self.bot_user(), **fields)
        msg["_html"] = params.get("text")
        self.sent.append(Sent("sendMessage", chat["id"], msg["message_id"], params["text"], plain,
                              markup, reply_to))
        return _public(msg)

    def api_editmessagetext(self, params: dict) -> dict:
        msg = self._bot_message(params)
        plain, entities = self.text_of(params.get("text"), params.get("parse_mode"))
        markup = self.markup_of(params.get("reply_markup"))
        if plain == msg.get("text") and entities == msg.get("entities", []) and markup == msg.get("reply_markup"):
            raise ApiError.bad("message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup "
                               "of the message")
        msg["text"], msg["_html"] = plain, params.get("text")
        msg["entities"] = entities
        if markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        msg["edit_date"] = int(time.time())
        self.sent.append(Sent("editMessageText", msg["chat"]["id"], msg["message_id"], params["text"],
                              plain, markup))
        return _public(msg)

    def api_editmessagereplymarkup(self, params: dict) -> dict:
        msg = self._bot_message(params)
        markup = self.markup_of(params.get("reply_markup"))
        if markup == msg.get("reply_markup") or (not markup and not msg.get("reply_markup")):
            raise ApiError.bad("message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup "
                               "of the message")
        if markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        self.sent.append(Sent("editMessageReplyMarkup", msg["chat"]["id"], msg["message_id"],
                              msg.get("_html") or "", msg.get("text", ""), markup))
        return _public(msg)

    def api_answercallbackquery(self, params: dict) -> bool:
        qid = str(params.get("callback_query_id") or "")
        query = self.callback_queries.get(qid)
        if query is None or query["answered"]:
            raise ApiError.bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
            raise ApiError.bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        self.callback_answers.append({"id": qid, "text": text, "show_alert": bool(params.get("show_alert"))})
        return True

    def api_answerinlinequery(self, params: dict) -> bool:
        qid = str(params.get("inline_query_id") or "")
        query = self.inline_queries.get(qid)
        if query is None or query["answered"]:
            raise ApiError.bad("query is too old and response timeout expired or query ID is invalid")
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError.bad("results must be an Array of InlineQueryResult")
        if len(results) > MAX_INLINE_RESULTS:
            raise ApiError.bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for r in results:
            rid = str(r.get("id", ""))
            if not 1 <= len(rid.encode()) <= 64:
                raise ApiError.bad("RESULT_ID_INVALID")
            if rid in seen:
                raise ApiError.bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
            if r.get("type") != "article":
                raise ApiError.bad(f"result type {r.get('type')!r} is not supported by this test server")
            if not str(r.get("title") or "").strip():
                raise ApiError.bad("RESULT_TITLE_EMPTY")
            content = r.get("input_message_content")
            if not isinstance(content, dict) or "message_text" not in content:
                raise ApiError.bad("input_message_content must have message_text")
            try:
                r["_plain"], _ = self.text_of(content["message_text"], content.get("parse_mode"))
            except ApiError as exc:
                raise ApiError.bad(f"{exc.description.removeprefix('Bad Request: ')} in inline result") from None
            self.markup_of(r.get("reply_markup"))
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise ApiError.bad("BUTTON_TEXT_EMPTY")
            if "start_parameter" in button and not START_PARAM_RE.match(str(button["start_parameter"])):
                raise ApiError.bad("START_PARAM_INVALID")
        query["answered"] = True
        self.inline_answers.append({"id": qid, "query": query["query"], "results": results,
                                    "button": button, "cache_time": params.get("cache_time")})
        return True

    def api_sendchataction(self, params: dict) -> bool:
        chat = self._chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise ApiError.bad("wrong parameter action in request")
        self.chat_actions.append((chat["id"], action))
        return True

    def api_close(self, params: dict) -> bool:
        return True

    def api_logout(self, params: dict) -> bool:
        return True

    # --- what tests call: updates in ------------------------------------------------------------

    def user(self, user_id: int, first_name: str | None = None) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}",
                "language_code": "en"}

    def _chat_for(self, chat_id: int, chat_type: str) -> dict:
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_type == "private":
                chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            else:
                chat = {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}
            self.chats[chat_id] = chat
        return chat

    def push_update(self, payload: dict) -> dict:
        """Queue a raw update (an `update_id` is added), or deliver it to the webhook; returns it.

        With a webhook set (setWebhook), updates are POSTed, as Telegram does, to
        `webhook_target`: the test's local stand-in for the public https URL, which in
        production is a TLS proxy in front of the bot's own web server.
        """
        with self.cond:
            update = {"update_id": self.next_update_id, **payload}
            self.next_update_id += 1
            if self.webhook.get("url") and self.webhook_target:
                threading.Thread(target=self._deliver, args=(update,), daemon=True).start()
            else:
                self.updates.append(update)
            self.cond.notify_all()
            return update

    def _deliver(self, update: dict, secret: str | None = None) -> None:
        import urllib.error
        import urllib.request

        with self.cond:
            target = self.webhook_target
            token = self.webhook.get("secret_token") if secret is None else secret
        request = urllib.request.Request(
            str(target), data=json.dumps(update).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        if token:
            request.add_header("X-Telegram-Bot-Api-Secret-Token", token)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        with self.cond:
            self.deliveries.append((update["update_id"], status))
            self.cond.notify_all()

    def deliver_with_secret(self, payload: dict, secret: str) -> int:
        """POST an update to the webhook with a given (e.g. wrong) secret; returns the status."""
        with self.cond:
            update = {"update_id": self.next_update_id, **payload}
            self.next_update_id += 1
        self._deliver(update, secret)
        with self.cond:
            return next(s for uid, s in self.deliveries if uid == update["update_id"])

    def _user_message(self, chat_id: int, chat_type: str, user_id: int | None, reply_to: int | None,
                      **fields: Any) -> dict:
        chat = self._chat_for(chat_id, chat_type)
        sender = self.user(user_id if user_id is not None else chat_id)
        if reply_to is not None:
            fields["reply_to_message"] = _public(self.messages[(chat_id, reply_to)])
        return self._new_message(chat, sender, **fields)

    def send_text(self, chat_id: int, text: str, *, chat_type: str = "private", user_id: int | None = None,
                  reply_to: int | None = None, kind: str = "message", via_bot: bool = False) -> dict:
        """A user's text message (bot commands and @mentions get their entities, as on Telegram).

        `via_bot=True`: the message is an inline result of this bot that the user posted."""
        with self.cond:
            fields: dict[str, Any] = {"text": text}
            if via_bot:
                fields["via_bot"] = self.bot_user()
            entities = _text_entities(text)
            if entities:
                fields["entities"] = entities
            msg = self._user_message(chat_id, chat_type, user_id, reply_to, **fields)
        return self.push_update({kind: _public(msg)})

    def send_group_text(self, chat_id: int, text: str, user_id: int, reply_to: int | None = None) -> dict:
        return self.send_text(chat_id, text, chat_type="supergroup", user_id=user_id, reply_to=reply_to)

    def send_photo(self, chat_id: int, caption: str | None = None, chat_type: str = "private") -> dict:
        with self.cond:
            fields: dict[str, Any] = {"photo": [
                {"file_id": "AgACAgQAAxkBAAIB", "file_unique_id": "AQADAgAT", "width": 90, "height": 60,
                 "file_size": 1234},
                {"file_id": "AgACAgQAAxkBAAIC", "file_unique_id": "AQADAgAU", "width": 800, "height": 533,
                 "file_size": 45678},
            ]}
            if caption:
                fields["caption"] = caption
            msg = self._user_message(chat_id, chat_type, None, None, **fields)
        return self.push_update({"message": _public(msg)})

    def send_sticker(self, chat_id: int) -> dict:
        with self.cond:
            msg = self._user_message(chat_id, "private", None, None, sticker={
                "file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgADAgAD", "type": "regular",
                "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"})
        return self.push_update({"message": _public(msg)})

    def send_voice(self, chat_id: int) -> dict:
        with self.cond:
            msg = self._user_message(chat_id, "private", None, None, voice={
                "file_id": "AwACAgIAAxkBAAIB", "file_unique_id": "AgADBQAD", "duration": 3,
                "mime_type": "audio/ogg"})
        return self.push_update({"message": _public(msg)})

    def send_location(self, chat_id: int) -> dict:
        with self.cond:
            msg = self._user_message(chat_id, "private", None, None,
                                     location={"latitude": 35.6762, "longitude": 139.6503})
        return self.push_update({"message": _public(msg)})

    def edit_text(self, chat_id: int, message_id: int, text: str) -> dict:
        """An edited_message update for a user's earlier message."""
        with self.cond:
            msg = self.messages[(chat_id, message_id)]
            msg.update(text=text, edit_date=int(time.time()))
        return self.push_update({"edited_message": _public(msg)})

    def channel_post(self, chat_id: int, text: str) -> dict:
        with self.cond:
            chat = self._chat_for(chat_id, "channel")
            msg = self._new_message(chat, {}, text=text)
        return self.push_update({"channel_post": _public(msg)})

    def press(self, chat_id: int, message_id: int, data: str, user_id: int | None = None) -> str:
        """A callback_query for a button (real or forged) on the bot's message; returns its id."""
        with self.cond:
            msg = self.messages[(chat_id, message_id)]
            qid = str(next(self._ids) + 5_000_000_000)
            self.callback_queries[qid] = {"answered": False, "data": data}
            payload = {"id": qid, "from": self.user(user_id if user_id is not None else chat_id),
                       "message": _public(msg), "chat_instance": f"ci{chat_id}", "data": data}
        self.push_update({"callback_query": payload})
        return qid

    def press_raw(self, user_id: int, *, chat_id: int | None = None, message_id: int | None = None,
                  data: str | None = None, inaccessible: bool = False,
                  inline_message_id: str | None = None, game_short_name: str | None = None) -> str:
        """A callback_query of an odd shape; returns its id. Without `chat_id` the press comes
        from a message posted inline (`inline_message_id`, no message); with `inaccessible` the
        message is too old for Telegram to include (date 0); `data=None` with `game_short_name`
        is a game's button."""
        with self.cond:
            qid = str(next(self._ids) + 5_000_000_000)
            self.callback_queries[qid] = {"answered": False, "data": data}
            payload: dict[str, Any] = {"id": qid, "from": self.user(user_id),
                                       "chat_instance": f"ci{chat_id or user_id}"}
            if chat_id is not None:
                msg = self.messages[(chat_id, message_id)] if message_id is not None else None
                if inaccessible or msg is None:
                    payload["message"] = {"chat": self._chat_for(chat_id, "private"),
                                          "message_id": message_id or 1, "date": 0}
                else:
                    payload["message"] = _public(msg)
            if inline_message_id is not None:
                payload["inline_message_id"] = inline_message_id
            if data is not None:
                payload["data"] = data
            if game_short_name is not None:
                payload["game_short_name"] = game_short_name
        self.push_update({"callback_query": payload})
        return qid

    def my_chat_member(self, chat_id: int, chat_type: str, user_id: int, old: str, new: str) -> dict:
        """A my_chat_member update: the bot's status in a chat changed from `old` to `new`
        (e.g. "left" -> "member" when added to a group, "member" -> "kicked" when blocked)."""
        with self.cond:
            chat = self._chat_for(chat_id, chat_type)
            payload = {"chat": chat, "from": self.user(user_id), "date": int(time.time()),
                       "old_chat_member": self._member(old), "new_chat_member": self._member(new)}
        return self.push_update({"my_chat_member": payload})

    def _member(self, status: str) -> dict:
        member: dict[str, Any] = {"user": self.bot_user(), "status": status}
        if status == "kicked":
            member["until_date"] = 0
        if status == "administrator":
            member.update({k: False for k in (
                "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                "can_delete_stories")})
        return member

    def inline(self, user_id: int, query: str) -> str:
        """An inline_query from `user_id`; returns its id."""
        with self.cond:
            qid = str(next(self._ids) + 7_000_000_000)
            self.inline_queries[qid] = {"answered": False, "query": query}
        self.push_update({"inline_query": {"id": qid, "from": self.user(user_id), "query": query,
                                           "offset": "", "chat_type": "sender"}})
        return qid

    # --- what tests call: waiting and reading ---------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition") -> Any:
        """Wait until `predicate()` (called with the lock held) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
                self.cond.wait(min(remaining, 0.2))

    def sent_to(self, chat_id: int, method: str = "sendMessage") -> list[Sent]:
        with self.cond:
            return [s for s in self.sent if s.chat_id == chat_id and s.method == method]

    def wait_messages(self, chat_id: int, count: int = 1, timeout: float = WAIT_S) -> list[Sent]:
        """Wait for at least `count` messages sent to `chat_id`; returns them all."""
        return self.wait_for(
            lambda: (lambda m: m if len(m) >= count else None)(
                [s for s in self.sent if s.chat_id == chat_id and s.method == "sendMessage"]
            ),
            timeout,
            f"{count} message(s) to chat {chat_id}",
        )

    def callback_answer(self, qid: str, timeout: float = WAIT_S) -> dict:
        return self.wait_for(
            lambda: next((a for a in self.callback_answers if a["id"] == qid), None),
            timeout, f"answer to callback query {qid}")

    def inline_answer(self, qid: str, timeout: float = WAIT_S) -> dict:
        return self.wait_for(
            lambda: next((a for a in self.inline_answers if a["id"] == qid), None),
            timeout, f"answer to inline query {qid}")

    def queue_drained(self) -> bool:
        """True once the bot has confirmed every queued update (a later getUpdates moved past it)."""
        with self.cond:
            return not self.updates


def _public(msg: dict) -> dict:
    """A stored message as Telegram shows it (without our private keys)."""
    out = {k: v for k, v in msg.items() if not k.startswith("_")}
    if "reply_to_message" in out:
        out["reply_to_message"] = _public(out["reply_to_message"])
        out["reply_to_message"].pop("reply_to_message", None)
    return out


def _text_entities(text: str) -> list[dict]:
    """bot_command at the start and @mentions, with UTF-16 offsets, as Telegram marks them."""
    entities = []
    m = BOT_COMMAND_RE.match(text)
    if m:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
    for mm in MENTION_RE.finditer(text):
        if m and mm.start() < m.end():
            continue
        entities.append({"type": "mention", "offset": utf16_len(text[: mm.start()]),
                         "length": utf16_len(mm.group(0))})
    return entities


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 front of FakeBotAPI: parses the call, answers JSON."""

    server_api: FakeBotAPI
    protocol_version = "HTTP/1.1"
    _ROUTE = re.compile(r"^/bot([^/]+)/([A-Za-z]+)/?$")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _params(self) -> dict[str, Any]:
        parts = urlsplit(self.path)
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body:
            if ctype == "application/json":
                params.update(json.loads(body))
                return params
            if ctype in ("application/x-www-form-urlencoded", ""):
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            elif ctype == "multipart/form-data":  # a call with a file: sendPhoto (uploads.py)
                params.update(parse_multipart(self.headers.get("Content-Type", ""), body))
            else:
                raise ApiError.bad(f"content type {ctype} is not supported by this test server")
        for key in list(params):
            value = params[key]
            if not isinstance(value, str):
                continue
            if key in JSON_PARAMS:
                try:
                    params[key] = json.loads(value)
                except json.JSONDecodeError:
                    raise ApiError.bad(f"can't parse {key} JSON object") from None
            elif key in INT_PARAMS and value != "":
                try:
                    params[key] = int(value)
                except ValueError:
                    raise ApiError.bad(f"field {key} must be an integer") from None
            elif key in BOOL_PARAMS:
                params[key] = value.lower() in ("true", "1")
        return params

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        route = self._ROUTE.match(urlsplit(self.path).path)
        if not route:
            self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        try:
            params = self._params()
        except ApiError as exc:
            self._answer(exc.code, {"ok": False, "error_code": exc.code, "description": exc.description})
            return
        status, body = self.server_api.handle(route.group(1), route.group(2), params)
        if status == DROP:
            time.sleep(body["hold"])  # this connection's own thread; others are served meanwhile
            self.close_connection = True  # closed without a response
            return
        try:
            self._answer(status, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot gave up on a long poll while stopping

    do_GET = _serve
    do_POST = _serve
