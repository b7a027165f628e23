"""File uploads for the Bot API stand-in: multipart/form-data requests, and `sendPhoto`.

PTB sends a call with a file (sendPhoto with PNG bytes) as multipart/form-data: the file as a
part with a filename, every other parameter as a plain form field. `parse_multipart` turns that
into the same parameter dict a form-encoded call gives, with `Upload` for file parts.

`PhotoMethods.api_sendphoto` refuses what Telegram refuses and a little more, so that a test
learns when the bot sends something broken: no upload (this stand-in takes no file ids or URLs),
an upload that is not a PNG by its magic bytes (the bot only ever sends PNG charts), a picture
larger than Telegram takes (10,000 pixels wide and high together, or a side ratio over 20), and
a caption over 1,024 characters after entity parsing or with malformed HTML. An accepted photo
is recorded in `sent` like a message (method "sendPhoto", caption as text, `photo` the bytes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a multipart/form-data body: str for plain fields, Upload for files."""
    from .server import ApiError

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    if not message.is_multipart():
        raise ApiError.bad("can't parse multipart/form-data")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ApiError.bad("multipart part without a name")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields[str(name)] = Upload(filename, part.get_content_type(), data)
        else:
            fields[str(name)] = data.decode("utf-8")
    return fields


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk; None when `data` is not a PNG."""
    if not data.startswith(PNG_MAGIC) or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


class PhotoMethods:
    """sendPhoto, mixed into FakeBotAPI (called with its lock held, like its other methods)."""

    def api_sendphoto(self, params: dict) -> dict:
        from .server import ApiError, Sent, _public

        chat = self._chat(params)  # type: ignore[attr-defined]
        photo = params.get("photo")
        if not isinstance(photo, Upload):
            raise ApiError.bad("wrong file identifier/HTTP URL specified (this stand-in takes uploads only)")
        size = png_size(photo.data)
        if size is None:
            raise ApiError.bad("IMAGE_PROCESS_FAILED (the upload is not a PNG)")
        width, height = size
        if not photo.data or len(photo.data) > MAX_PHOTO_BYTES:
            raise ApiError.bad("PHOTO_INVALID_DIMENSIONS")
        if width + height > 10_000 or max(width, height) > 20 * max(1, min(width, height)):
            raise ApiError.bad("PHOTO_INVALID_DIMENSIONS")
        caption = params.get("caption")
        plain, entities = "", []
        if caption not in (None, ""):
            try:
                plain, entities = self.text_of(caption, params.get("parse_mode"))  # type: ignore[attr-defined]
            except ApiError as exc:
                if "too long" not in exc.description:
                    raise ApiError.bad(exc.description.removeprefix("Bad Request: ").replace("message text", "caption")) from None
                plain = "x" * (MAX_CAPTION + 1)
            if len(plain.encode("utf-16-le")) // 2 > MAX_CAPTION:
                raise ApiError.bad("message caption is too long")
        markup = self.markup_of(params.get("reply_markup"))  # type: ignore[attr-defined]
        reply_to = self._reply_to(chat["id"], params)  # type: ignore[attr-defined]
        fields: dict[str, Any] = {"photo": [
            {"file_id": f"AgACAgQAAxkBAAIP{len(self.sent)}", "file_unique_id": f"AQADAgAP{len(self.sent)}",  # type: ignore[attr-defined]
             "width": width, "height": height, "file_size": len(photo.data)},
        ]}
        if plain:
            fields["caption"] = plain
        if entities:
            fields["caption_entities"] = entities
        if markup:
            fields["reply_markup"] = markup
        if reply_to is not None:
            fields["reply_to_message"] = self.messages[(chat["id"], reply_to)]  # type: ignore[attr-defined]
        msg = self._new_message(chat, self.bot_user(), **fields)  # type: ignore[attr-defined]
        self.sent.append(Sent("sendPhoto", chat["id"], msg["message_id"], caption or "", plain,  # type: ignore[attr-defined]
                              markup, reply_to, photo=photo.data))
        return _public(msg)
