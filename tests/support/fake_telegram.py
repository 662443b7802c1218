"""A local HTTP server that speaks the Telegram Bot API, for tests.

Requests go to ``{origin}/bot{token}/{method}`` exactly as to api.telegram.org; answers have the real
shapes (``{"ok": true, "result": …}`` or ``{"ok": false, "error_code", "description"}``). It accepts
JSON, form-encoded and multipart bodies (python-telegram-bot sends the latter two), validates HTML
parse-mode markup and the 4,096-character limit like Telegram does, keeps every chat's messages so that
edits and callback queries carry the real message, and records every call for assertions.

Updates for ``getUpdates`` (long polling with ``offset``/``timeout``) come from a queue the test fills
with ``push_text`` and ``push_callback``; ``make_text_update`` and ``make_callback_update`` build an
update without queueing it, for tests that post it to a webhook instead.

It runs in a thread (``ThreadingHTTPServer``), so sync and async tests can use it alike.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import html.parser
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_ID = 7000001
BOT_USERNAME = "marketing_agent_test_bot"
_ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
     "span", "blockquote", "tg-emoji"}
)  # fmt: skip


@dataclass(frozen=True)
class ApiCall:
    """One request the server received."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    token: str = ""


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class _TelegramHtml(html.parser.HTMLParser):
    """Checks markup the way Telegram does and produces the plain text it would store."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(markup: str) -> str:
    """The text Telegram keeps from HTML markup; ApiError for markup it refuses."""
    # A bare "<" or "&" that is not an entity is refused by Telegram; HTMLParser would accept it.
    for index, char in enumerate(markup):
        if char == "&":
            end = markup.find(";", index)
            entity = markup[index + 1 : end] if end != -1 else ""
            if entity not in ("lt", "gt", "amp", "quot") and not entity.startswith("#"):
                raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
        if char == "<":
            following = markup[index + 1 : index + 2]
            if not (following.isalpha() or following == "/"):
                raise ApiError(400, "Bad Request: can't parse entities: unexpected '<'")
    parser = _TelegramHtml()
    parser.feed(markup)
    parser.close()
    if parser.stack:
        raise ApiError(400, f'Bad Request: can\'t parse entities: unclosed tag "{parser.stack[-1]}"')
    return "".join(parser.text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """The server's state and the test-facing API. Use :func:`running_fake_telegram` to start one."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.blocked_chats: set[int] = set()  # sendMessage → 403 "bot was blocked by the user"
        self.missing_chats: set[int] = set()  # → 400 "chat not found"
        self.fail_next: dict[str, tuple[int, str]] = {}  # method → one forced error
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, Iterator[int]] = {}
        self._callback_ids = itertools.count(1)
        self._cond = threading.Condition()
        self.origin = ""

    # --- test-facing helpers ------------------------------------------------------------------------
    def user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "en"}

    def make_text_update(self, chat_id: int, text: str, *, user_id: int | None = None) -> dict[str, Any]:
        """A user's text message as an update (stored in the chat, not queued)."""
        sender = self.user(user_id or chat_id)
        with self._cond:
            message = self._new_message(chat_id, sender, text=text)
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            return {"update_id": next(self._update_ids), "message": dict(message)}

    def push_text(self, chat_id: int, text: str, *, user_id: int | None = None) -> dict[str, Any]:
        update = self.make_text_update(chat_id, text, user_id=user_id)
        self._queue(update)
        return update

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue any update as it is (e.g. an ``edited_message``)."""
        self._queue(update)

    def make_callback_update(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        with self._cond:
            message = self.messages[(chat_id, message_id)]
            query = {
                "id": str(next(self._callback_ids)),
                "from": self.user(user_id or chat_id),
                "message": dict(message),
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
            return {"update_id": next(self._update_ids), "callback_query": query}

    def push_callback(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> dict[str, Any]:
        update = self.make_callback_update(chat_id, message_id, data, user_id=user_id)
        self._queue(update)
        return update

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def chat_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat as it stands now (deleted messages gone, edits applied), oldest first."""
        with self._cond:
            return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id]

    def wait_for_call(
        self, method: str, predicate: Callable[[ApiCall], bool] = lambda _: True, timeout: float = 10.0
    ) -> ApiCall:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self.calls:
                    if call.method == method and predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise TimeoutError(f"no matching {method} call within {timeout}s; calls: {seen}")
                self._cond.wait(remaining)

    async def await_call(
        self, method: str, predicate: Callable[[ApiCall], bool] = lambda _: True, timeout: float = 10.0
    ) -> ApiCall:
        """Like :meth:`wait_for_call` without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                for call in self.calls:
                    if call.method == method and predicate(call):
                        return call
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching {method} call within {timeout}s")
            await asyncio.sleep(0.02)

    async def await_calls(
        self,
        method: str,
        count: int,
        predicate: Callable[[ApiCall], bool] = lambda _: True,
        timeout: float = 10.0,
    ) -> list[ApiCall]:
        """Wait until ``count`` matching calls arrived; returns them in order."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                found = [call for call in self.calls if call.method == method and predicate(call)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} {method} calls within {timeout}s")
            await asyncio.sleep(0.02)

    # --- internals ----------------------------------------------------------------------------------
    def _queue(self, update: dict[str, Any]) -> None:
        with self._cond:
            self._updates.append(update)
            self._cond.notify_all()

    def _new_message(self, chat_id: int, sender: dict[str, Any], **content: Any) -> dict[str, Any]:
        ids = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = {
            "message_id": next(ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": sender,
            **content,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Marketing Agent", "username": BOT_USERNAME}

    def handle(self, token: str, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        with self._cond:
            self.calls.append(ApiCall(method, params, files, token))
            self._cond.notify_all()
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if method in self.fail_next:
                raise ApiError(*self.fail_next.pop(method))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(params, files)

    def _api_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    def _api_getUpdates(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")  # fmt: skip
            while True:
                # Telegram forgets updates below the offset once they are confirmed.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates:
                    return self._updates[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(min(remaining, 0.5))

    def _api_setWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        with self._cond:
            self.webhook_url = str(params["url"]) or None
            self.webhook_secret = params.get("secret_token")
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        with self._cond:
            self.webhook_url = None
            self.webhook_secret = None
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {"url": self.webhook_url or "", "has_custom_certificate": False, "pending_update_count": 0}

    def _check_chat(self, chat_id: int) -> None:
        if chat_id in self.missing_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _content(self, params: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
        raw = str(params.get(key, ""))
        text = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
        if params.get("parse_mode") not in (None, "HTML"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {params['parse_mode']}")
        if key == "text" and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        content: dict[str, Any] = {key: text} if text else {}
        if params.get("reply_markup"):
            markup = _validated_markup(params["reply_markup"])
            if "inline_keyboard" in markup:  # like Telegram: a ForceReply is not echoed in the message
                content["reply_markup"] = markup
        return content

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return {}
        original = self.messages.get((chat_id, int(message_id)))
        if original is None:
            raise ApiError(400, "Bad Request: message to be replied not found")
        # Telegram never nests a reply inside a reply.
        return {"reply_to_message": {k: v for k, v in original.items() if k != "reply_to_message"}}

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        self._check_chat(chat_id)
        content = self._content(params, "text", 4096)
        with self._cond:
            content.update(self._reply_to(chat_id, params))
            return dict(self._new_message(chat_id, self._bot_user(), **content))

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        self._check_chat(chat_id)
        if "document" not in files:
            raise ApiError(400, "Bad Request: there is no document in the request")
        filename, data = files["document"]
        content = self._content(params, "caption", 1024)
        document = {"file_id": f"doc{len(self.calls)}", "file_unique_id": f"u{len(self.calls)}",
                    "file_name": filename, "mime_type": "text/markdown", "file_size": len(data)}  # fmt: skip
        with self._cond:
            content.update(self._reply_to(chat_id, params))
            return dict(self._new_message(chat_id, self._bot_user(), document=document, **content))

    def _existing(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, f"Bad Request: message to {action} not found")
        if action == "edit" and not message["from"]["is_bot"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        content = self._content(params, "text", 4096)
        with self._cond:
            message = self._existing(params, "edit")
            if message.get("text") == content["text"] and message.get("reply_markup") == content.get("reply_markup"):
                raise ApiError(400, "Bad Request: message is not modified: specified new message content "
                                    "and reply markup are exactly the same")  # fmt: skip
            message.pop("reply_markup", None)
            message.update(content, edit_date=int(time.time()))
            return dict(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        with self._cond:
            message = self._existing(params, "edit")
            message.pop("reply_markup", None)
            if params.get("reply_markup"):
                message["reply_markup"] = _validated_markup(params["reply_markup"])
            return dict(message)

    def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        with self._cond:
            key = (int(params["chat_id"]), int(params["message_id"]))
            if self.messages.pop(key, None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: callback answer text is too long")
        return True

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return True


def _validated_markup(markup: Any) -> dict[str, Any]:
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise ApiError(400, "Bad Request: button text is empty")
    return dict(markup)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # The default prints the path, which holds the bot token; tests read ``calls`` instead.
        return

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length))

    def _serve(self, body: bytes) -> None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = parts[0][3:], parts[1]
        params, files = _parse_body(self.headers.get("Content-Type", ""), body)
        params.update(dict(parse_qsl(urlsplit(self.path).query)))
        try:
            result = self.server.fake.handle(token, method, params, files)
        except ApiError as exc:
            answer: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.code == 429:
                answer["parameters"] = {"retry_after": 3}
            self._answer(exc.code, answer)
            return
        self._answer(200, {"ok": True, "result": result})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _maybe_json(value: str) -> Any:
    # Form and multipart bodies carry nested objects (reply_markup…) as JSON strings.
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    if not body:
        return {}, {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body)), {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: _maybe_json(v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}, {}
    if content_type.startswith("multipart/form-data"):
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        message = parser.parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[str(name)] = (filename, payload)
            else:
                params[str(name)] = _maybe_json(payload.decode())
        return params, files
    return {}, {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTelegram

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up during a long poll (the bot shutting down) is normal, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def running_fake_telegram(token: str = "123456:TEST-token") -> Iterator[FakeTelegram]:
    """Start a fake Bot API on a free loopback port; ``fake.origin`` is its ``TELEGRAM_API_BASE_URL``."""
    fake = FakeTelegram(token)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        with fake._cond:
            fake._cond.notify_all()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
