"""Render SynthMessages into byte-exact Telegram Desktop exports (JSON and HTML).

Message ids are `first_id + index`, so rendering the same list again (with some texts
changed through `edit_messages`, or more messages appended) gives a realistic later
export of the same channel. Output streams message by message: a 1 GB export never
sits in memory.
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, BinaryIO

from detector.synthetic.messages import SynthMessage
from detector.ingest.timezones import zone
from detector.ingest.telegram_common import NOT_INCLUDED

# Entities Telegram marks inside message text (JSON `text` parts, HTML links).
_ENTITY = re.compile(r"(?P<link>https?://\S+|t\.me/\S+)|(?P<mention>@\w{3,})|(?P<hashtag>#\w+)")
_ABOUT = (
    "Here is the data you requested. Remember: Telegram is ad free, it doesn't sell your data, "
    "and you can download it any time."
)
# Service texts (as the synthetic generator words them) -> Telegram's JSON `action`.
_SERVICE_ACTIONS = (("joined", "join_group_by_link"), ("created", "create_channel"), ("pinned", "pin_message"))
JOIN_MINUTES = 15  # Telegram Desktop joins a sender's consecutive messages within this gap


def edit_messages(messages: list[SynthMessage], new_texts: Mapping[int, str], edited_at: datetime) -> list[SynthMessage]:
    """A later version of `messages`: the indexed ones get a new text and an edit date."""
    return [
        dataclasses.replace(m, text=new_texts[i], edited_at=edited_at) if i in new_texts else m
        for i, m in enumerate(messages)
    ]


def text_parts(text: str) -> list[str | dict[str, str]]:
    """Telegram's `text` list: plain strings between entity objects (links, mentions, hashtags)."""
    parts: list[str | dict[str, str]] = []
    last = 0
    for match in _ENTITY.finditer(text):
        if match.start() > last:
            parts.append(text[last : match.start()])
        parts.append({"type": match.lastgroup or "plain", "text": match.group()})
        last = match.end()
    if last < len(text):
        parts.append(text[last:])
    return parts


def service_action(text: str) -> str:
    """The JSON `action` the writer uses for a service SynthMessage (custom_action keeps the text)."""
    lowered = text.lower()
    return next((action for word, action in _SERVICE_ACTIONS if word in lowered), "custom_action")


def photo_name(message_id: int, local: datetime) -> str:
    """Telegram's relative photo path, e.g. photos/photo_12@01-05-2017_12-34-56.jpg."""
    return f"photos/photo_{message_id}@{local:%d-%m-%Y_%H-%M-%S}.jpg"


# --------------------------------------------------------------------------- JSON


def write_telegram_json(
    stream: BinaryIO,
    chat_name: str,
    chat_id: int,
    messages: Iterable[SynthMessage],
    *,
    full_account: bool = False,
    old_format: bool = False,
    photo_dir: str | Path | None = None,
    chat_type: str = "public_channel",
    timezone: str = "UTC",
    first_id: int = 1,
) -> int:
    """Write a `result.json` in Telegram Desktop's pretty-printed layout; returns the message count.

    `old_format` mimics 2018 exports (no `*_unixtime`, integer `from_id`, no
    `text_entities`, "edited" at the epoch when never edited). With `photo_dir` (the
    export folder) photos are written under `photos/` and referenced relatively;
    otherwise they appear as the "not included" placeholder.
    """
    tz = zone(timezone)
    depth = 5 if full_account else 2
    chat_head = {"name": chat_name, "type": chat_type, "id": chat_id}
    if full_account:
        head = "{\n" + _members({"about": _ABOUT, "personal_information": _PERSON}, 1)
        head += ' "chats": {\n  "about": "This page lists all chats from this export.",\n  "list": [\n'
        head += "   {\n" + _members(chat_head, 4)
        rest = "\n   }\n  ]\n }\n}\n"
    else:
        head = "{\n" + _members(chat_head, 1)
        rest = "\n}\n"
    pad = " " * (depth - 1)
    stream.write(f'{head}{pad}"messages": ['.encode())
    photos = Path(photo_dir) if photo_dir is not None else None
    item_pad = " " * depth
    count = 0
    for count, body in enumerate(_json_messages(messages, chat_name, tz, photos, old_format, first_id), 1):
        separator = "\n" if count == 1 else ",\n"
        stream.write((separator + item_pad + _indent(body, depth)).encode())
    stream.write(((f"\n{pad}]" if count else "]") + rest).encode())
    return count


_PERSON = {"user_id": 100000001, "first_name": "Analyst", "last_name": "", "phone_number": "+0 000 000 0000", "bio": ""}


def _members(fields: dict[str, Any], depth: int) -> str:
    """`"key": value,` lines at `depth`, each value pretty-printed like Telegram does."""
    pad = " " * depth
    return "".join(f"{pad}{json.dumps(key)}: {_indent(_dumps(value), depth)},\n" for key, value in fields.items())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def _indent(text: str, depth: int) -> str:
    """Shift the continuation lines of a pretty-printed value right by `depth` spaces."""
    return text.replace("\n", "\n" + " " * depth)


def _json_messages(
    messages: Iterable[SynthMessage], chat_name: str, tz: tzinfo, photos: Path | None, old: bool, first_id: int
) -> Iterator[str]:
    for index, message in enumerate(messages):
        yield _dumps(_json_message(first_id + index, message, chat_name, tz, photos, old, first_id))


def _json_message(
    message_id: int, m: SynthMessage, chat_name: str, tz: tzinfo, photos: Path | None, old: bool, first_id: int
) -> dict[str, Any]:
    local = m.sent_at.astimezone(tz)
    out: dict[str, Any] = {"id": message_id, "type": "service" if m.service else "message"}
    out.update(_json_date("date", m.sent_at, tz, old))
    if m.edited_at is not None:
        out.update(_json_date("edited", m.edited_at, tz, old))
    elif old:
        out["edited"] = "1970-01-01T00:00:00"
    sender_id: str | int = int(re.sub(r"\D", "", m.sender_id) or 0) if old else m.sender_id
    if m.service:
        action = service_action(m.text)
        out.update({"actor": m.sender_name, "actor_id": sender_id, "action": action})
        if action == "create_channel":
            out["title"] = chat_name
        if action == "join_group_by_link":
            out["inviter"] = chat_name
        text = m.text if action == "custom_action" else ""
    else:
        out.update({"from": m.sender_name, "from_id": sender_id})
        text = m.text
    if m.forwarded_from is not None:
        out["forwarded_from"] = m.forwarded_from
    if m.reply_to is not None:
        out["reply_to_message_id"] = first_id + m.reply_to
    if m.photo is not None:
        out["photo"] = _save_photo(photos, photo_name(message_id, local), m.photo) if photos else NOT_INCLUDED
        out["width"], out["height"] = _jpeg_size(m.photo)
    parts = text_parts(text)
    has_entities = any(isinstance(part, dict) for part in parts)
    out["text"] = parts if has_entities else text
    if not old:
        out["text_entities"] = [part if isinstance(part, dict) else {"type": "plain", "text": part} for part in parts]
    return out


def _json_date(key: str, moment: datetime, tz: tzinfo, old: bool) -> dict[str, str]:
    fields = {key: moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")}
    if not old:
        fields[f"{key}_unixtime"] = str(int(moment.timestamp()))
    return fields


def _save_photo(folder: Path, rel_path: str, data: bytes) -> str:
    target = folder / rel_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return rel_path


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Pixel size of the photo (Pillow reads only the header)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except OSError:
        return (800, 600)


# --------------------------------------------------------------------------- HTML


def write_telegram_html(
    folder: str | Path,
    chat_name: str,
    messages: Iterable[SynthMessage],
    *,
    per_page: int = 1000,
    timezone: str = "UTC",
    with_offset: bool = True,
    include_photos: bool = True,
    first_id: int = 1,
) -> list[Path]:
    """Write messages.html, messages2.html, ... as Telegram Desktop does; returns the pages.

    Consecutive messages of one sender (same day, within 15 minutes) are `joined`; a day
    change gets a date separator. Date titles carry " UTC+hh:mm" when `with_offset`
    (newer exports), else only the local time in `timezone` (older exports). Pages are
    written as the messages arrive, so `messages` may be a generator of any length.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tz = zone(timezone)
    photos = folder if include_photos else None
    written: list[Path] = []
    out: BinaryIO | None = None
    try:
        for index, message in enumerate(messages):
            if index % per_page == 0:  # start the next page (and link the previous one to it)
                page = index // per_page + 1
                if out is not None:
                    out.write(_page_tail(page - 1, has_next=True).encode())
                    out.close()
                written.append(folder / _page_name(page))
                out = open(written[-1], "wb")
                out.write(_page_head(chat_name, page).encode())
                renderer = _HtmlPage(tz, with_offset, photos, first_id, per_page, page)
            if out is None:  # index 0 always opens the first page
                raise RuntimeError("write_telegram_html: no page open for a message")
            out.write(renderer.render(index, message).encode())
        if out is None:  # an empty chat still has its first page
            written.append(folder / _page_name(1))
            out = open(written[-1], "wb")
            out.write(_page_head(chat_name, 1).encode())
        out.write(_page_tail(len(written), has_next=False).encode())
    finally:
        if out is not None:
            out.close()
    return written


def _page_name(page: int) -> str:
    return "messages.html" if page == 1 else f"messages{page}.html"


def _page_head(chat_name: str, page: int) -> str:
    previous = (
        f'\n     <a class="pagination block_link" href="{_page_name(page - 1)}">\nPrevious messages\n     </a>\n'
        if page > 1
        else ""
    )
    return (
        "<!DOCTYPE html>\n<html>\n\n <head>\n\n  <meta charset=\"utf-8\"/>\n<title>Exported Data</title>\n\n"
        '  <meta content="width=device-width, initial-scale=1.0" name="viewport"/>\n\n'
        '  <link href="css/style.css" rel="stylesheet"/>\n\n'
        '  <script src="js/script.js" type="text/javascript">\n\n  </script>\n\n </head>\n\n'
        ' <body onload="CheckLocation();">\n\n  <div class="page_wrap">\n\n   <div class="page_header">\n\n'
        f'    <div class="content">\n\n     <div class="text bold">\n{html.escape(chat_name)}\n     </div>\n\n'
        "    </div>\n\n   </div>\n\n   <div class=\"page_body chat_page\">\n\n    <div class=\"history\">\n"
        f"{previous}"
    )


def _page_tail(page: int, *, has_next: bool) -> str:
    following = (
        f'\n     <a class="pagination block_link" href="{_page_name(page + 1)}">\nNext messages\n     </a>\n'
        if has_next
        else ""
    )
    return f"{following}\n    </div>\n\n   </div>\n\n  </div>\n\n </body>\n\n</html>\n"


def html_text(text: str) -> str:
    """Message text as Telegram writes it in HTML: escaped, links as <a>, newlines as <br>."""
    out = []
    for part in text_parts(text):
        if isinstance(part, str):
            out.append(html.escape(part))
        elif part["type"] == "link":
            url = html.escape(part["text"])
            out.append(f'<a href="{url}">{url}</a>')
        elif part["type"] == "mention":
            out.append(f'<a href="" onclick="return ShowMentionName()">{html.escape(part["text"])}</a>')
        else:
            tag = html.escape(part["text"][1:])
            out.append(f'<a href="" onclick="return ShowHashtag(&quot;{tag}&quot;)">{html.escape(part["text"])}</a>')
    return "".join(out).replace("\n", "<br>")


class _HtmlPage:
    """Renders the messages of one page, remembering what the join and date rules need."""

    def __init__(self, tz: tzinfo, with_offset: bool, photos: Path | None, first_id: int, per_page: int, page: int) -> None:
        self.tz, self.with_offset, self.photos = tz, with_offset, photos
        self.first_id, self.per_page, self.page = first_id, per_page, page
        self.previous: SynthMessage | None = None
        self.day: object = None
        self.separators = 0

    def render(self, index: int, m: SynthMessage) -> str:
        local = m.sent_at.astimezone(self.tz)
        out = ""
        if self.day != local.date():
            self.day = local.date()
            self.separators += 1
            out += self._service(f"-{self.separators}", f"{local.day} {local:%B %Y}")
            self.previous = None
        message_id = self.first_id + index
        if m.service:
            out += self._service(str(message_id), html.escape(m.text))
            self.previous = None
            return out
        joined = self._joins(m)
        self.previous = m
        return out + self._default(message_id, m, local, joined)

    def _joins(self, m: SynthMessage) -> bool:
        before = self.previous
        return (
            before is not None
            and m.forwarded_from is None
            and before.sender_id == m.sender_id
            and (m.sent_at - before.sent_at).total_seconds() <= JOIN_MINUTES * 60
        )

    @staticmethod
    def _service(dom_id: str, body: str) -> str:
        return (
            f'\n     <div class="message service" id="message{dom_id}">\n\n'
            f'      <div class="body details">\n{body}\n      </div>\n\n     </div>\n'
        )

    def _default(self, message_id: int, m: SynthMessage, local: datetime, joined: bool) -> str:
        title = f"{local:%d.%m.%Y %H:%M:%S}"
        if self.with_offset:
            title += " UTC" + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
        classes = "message default clearfix" + (" joined" if joined else "")
        parts = [f'\n     <div class="{classes}" id="message{message_id}">\n']
        if not joined:
            initials = html.escape("".join(word[:1] for word in m.sender_name.split()[:2]) or "?")
            parts.append(
                '\n      <div class="pull_left userpic_wrap">\n\n'
                f'       <div class="userpic userpic{(message_id % 8) + 1}" style="width: 42px; height: 42px">\n\n'
                f'        <div class="initials" style="line-height: 42px">\n{initials}\n        </div>\n\n'
                "       </div>\n\n      </div>\n"
            )
        parts.append(
            '\n      <div class="body">\n\n'
            f'       <div class="pull_right date details" title="{title}">\n{local:%H:%M}\n       </div>\n'
        )
        if not joined:
            parts.append(f'\n       <div class="from_name">\n{html.escape(m.sender_name)}\n       </div>\n')
        if m.reply_to is not None:
            target = self.first_id + m.reply_to
            page = m.reply_to // self.per_page + 1
            href = ("" if page == self.page else _page_name(page)) + f"#go_to_message{target}"
            parts.append(
                '\n       <div class="reply_to details">\n'
                f'In reply to <a href="{href}" onclick="return GoToMessage({target})">this message</a>\n'
                "       </div>\n"
            )
        content = self._media(message_id, m, local) + self._text(m.text)
        if m.forwarded_from is not None:
            content = (
                '\n       <div class="forwarded body">\n\n        <div class="from_name">\n'
                f'{html.escape(m.forwarded_from)}<span class="date details" title="{title}"> {local:%d.%m.%Y %H:%M:%S}'
                f"</span>\n        </div>\n{content}\n       </div>\n"
            )
        parts.append(content)
        parts.append("\n      </div>\n\n     </div>\n")
        return "".join(parts)

    @staticmethod
    def _text(text: str) -> str:
        return f'\n       <div class="text">\n{html_text(text)}\n       </div>\n' if text else ""

    def _media(self, message_id: int, m: SynthMessage, local: datetime) -> str:
        if m.photo is None:
            return ""
        if self.photos is None:
            return (
                '\n       <div class="media_wrap clearfix">\n\n'
                '        <div class="media clearfix pull_left media_photo">\n\n'
                '         <div class="fill pull_left">\n\n         </div>\n\n'
                '         <div class="body">\n\n          <div class="title bold">\nPhoto\n          </div>\n\n'
                '          <div class="status details">\nNot included, change data exporting settings to download.\n'
                "          </div>\n\n         </div>\n\n        </div>\n\n       </div>\n"
            )
        rel = _save_photo(self.photos, photo_name(message_id, local), m.photo)
        thumb = _save_photo(self.photos, rel.removesuffix(".jpg") + "_thumb.jpg", m.photo)
        width, height = _jpeg_size(m.photo)
        return (
            '\n       <div class="media_wrap clearfix">\n\n'
            f'        <a class="photo_wrap clearfix pull_left" href="{rel}">\n\n'
            f'         <img class="photo" src="{thumb}" style="width: {min(width, 260)}px; height: '
            f'{height * min(width, 260) // max(width, 1)}px"/>\n\n        </a>\n\n       </div>\n'
        )
