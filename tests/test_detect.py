"""Format detection from content: every export format, and a clear error for everything else."""

from __future__ import annotations

import io
import json

import pytest
from telegram_support import DATA, jpeg, sample_messages

from detector.errors import InputError, UnknownFormatError
from detector.ingest.detect import HEAD_BYTES, detect_format
from detector.synthetic.telegram import write_telegram_html, write_telegram_json
from detector.synthetic.whatsapp import write_whatsapp_txt
from detector.ingest.whatsapp_locales import LOCALES


def head_of(data: bytes) -> bytes:
    return data[:HEAD_BYTES]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("single_chat/result.json", "telegram_json"),
        ("full_account/result.json", "telegram_json"),
        ("old_2018/result.json", "telegram_json"),
        ("html_export/messages.html", "telegram_html"),
        ("html_export/messages2.html", "telegram_html"),
    ],
)
def test_hand_written_exports(path, expected):
    assert detect_format(head_of((DATA / path).read_bytes()), path) == expected


@pytest.mark.parametrize("full_account", [False, True])
def test_written_json_exports_even_when_the_head_cuts_a_character(full_account):
    out = io.BytesIO()
    write_telegram_json(out, "قناة", 1, sample_messages() * 200, full_account=full_account)
    data = out.getvalue()
    cut = data.index("للبيع".encode()) + 1  # inside a two-byte letter
    assert detect_format(data[:cut], "result.json") == "telegram_json"
    assert detect_format(b"\xef\xbb\xbf" + head_of(data), "result.json") == "telegram_json"  # BOM


def test_written_html_pages(tmp_path):
    pages = write_telegram_html(tmp_path, "Souq", sample_messages(), per_page=3)
    assert {detect_format(head_of(page.read_bytes()), page.name) for page in pages} == {"telegram_html"}


def test_full_account_export_with_a_long_preamble_is_telegram_json():
    preamble = {"about": "x", "personal_information": {"user_id": 1}, "contacts": {"list": [{"n": i} for i in range(9000)]}}
    data = json.dumps(preamble, indent=1).encode()
    assert len(data) > HEAD_BYTES
    assert detect_format(head_of(data), "result.json") == "telegram_json"


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_whatsapp_chats_in_every_locale(locale):
    out = io.BytesIO()
    write_whatsapp_txt(out, [m for m in sample_messages() if not m.service], locale=locale)
    assert detect_format(head_of(out.getvalue()), "_chat.txt") == "whatsapp_txt"


NOT_EXPORTS = {
    "empty": (b"", "empty file"),
    "blank": (b"\n \r\n\t", "only blank space"),
    "zip": (b"PK\x03\x04" + bytes(40), "a zip archive"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(40), "a PNG image"),
    "jpeg": (jpeg(), "a JPEG image"),
    "pdf": (b"%PDF-1.7\n1 0 obj", "a PDF document"),
    "sqlite": (b"SQLite format 3\x00" + bytes(80), "an SQLite database"),
    "nul bytes": (b"hello\x00world", "binary content"),
    "latin-1 text": ("café, 12/9/20".encode("latin-1"), "not UTF-8 text (invalid byte at 3)"),
    "random JSON object": (b'{"name": "list", "items": [1, 2, 3]}', "JSON but not a Telegram export"),
    "JSON list": (b'[{"id": 1, "text": "hi"}]', "JSON but not a Telegram export"),
    "random HTML": (b"<!DOCTYPE html>\n<html><body><div class=\"post\">News</div></body></html>", "an HTML page that is not a Telegram export"),
    "HTML fragment": (b"<div><p>hello</p></div>", "an HTML page that is not a Telegram export"),
    "telegram index page": (
        b'<!DOCTYPE html>\n<html>\n <body>\n  <div class="page_wrap">\n   <div class="page_header">\n'
        b'    <div class="content">\n     <div class="text bold">\nChats\n     </div>\n    </div>\n   </div>\n'
        b'   <div class="page_body list_page">\n    <div class="entry_list">\n    </div>\n   </div>\n  </div>\n </body>\n</html>\n',
        "a Telegram export page without messages",
    ),
    "plain text": (b"Shopping list\nmilk\nbread\n", "not a recognised export"),
    "csv": (b"id,text\n1,hello\n", "not a recognised export"),
}


@pytest.mark.parametrize("case", list(NOT_EXPORTS))
def test_anything_else_is_an_unknown_format_naming_the_file(case):
    data, problem = NOT_EXPORTS[case]
    name = f"inbox/{case.replace(' ', '_')}.bin"
    with pytest.raises(UnknownFormatError) as caught:
        detect_format(data, name)
    assert isinstance(caught.value, InputError)
    assert caught.value.path == name
    assert str(caught.value).startswith(f"{name}: ")
    assert problem in caught.value.problem
    if case != "telegram index page":
        assert "expected a Telegram Desktop export" in caught.value.problem
