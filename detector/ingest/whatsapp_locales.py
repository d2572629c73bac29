"""How WhatsApp writes "Export chat" text in each phone locale.

One table serves both sides: the parser (`whatsapp.py`) reads every marker listed
here, and the synthetic writer (`synthetic_whatsapp.py`) renders exports with it.
Forms marked "seen" appear in public exports and parsers; the others follow the
same pattern in that language (the parser does not depend on them: dates, clocks
and iOS attachments are read from their shape, not from a word list).
"""

from __future__ import annotations

from dataclasses import dataclass

LRM, RLM = "\u200e", "\u200f"
LRE, PDF = "\u202a", "\u202c"
NNBSP = "\u202f"
BIDI_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
TO_ASCII_DIGITS = str.maketrans(ARABIC_INDIC + PERSIAN, "0123456789" * 2)

EN_NOTICE = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, "
    "not even WhatsApp, can read or listen to them. Tap to learn more."
)


@dataclass(frozen=True, slots=True)
class Locale:
    """One phone's export style: the layout, the date and clock, and the media markers."""

    key: str
    ios: bool  # "[date, time] Name: text" (iOS) or "date, time - Name: text" (Android)
    order: str  # "mdy" | "dmy" | "ymd"
    date_sep: str  # "/" "." "-"
    pad: bool  # zero-padded day and month
    year_digits: int  # 2 or 4
    between: str  # between date and time: ", " " " "، " " à "
    am_pm: tuple[str, str] | None = None  # None: 24-hour clock
    am_pm_space: str = " "
    time_sep: str = ":"
    digits: str = ""  # "" Latin, else the ten digits used
    date_mark: str = ""  # written after each number of the date (RLM in Arabic)
    calendar: str = "gregorian"  # or "jalali"
    omitted: str = "<Media omitted>"  # Android: any media left out; iOS: a photo left out
    attached: str = "file attached"  # Android "NAME (file attached)"; iOS "<attached: NAME>"
    notice: str = ""  # the end-to-end encryption line at the top
    chat_prefix: str = "WhatsApp Chat with "  # the .txt name: prefix + chat name
    rtl: bool = False  # phone numbers as names are wrapped in LRE ... PDF


LOCALES: dict[str, Locale] = {
    loc.key: loc
    for loc in (
        # seen: "9/12/20, 11:55 PM - " with U+202F before PM in current Android versions
        Locale("en_US_android", False, "mdy", "/", False, 2, ", ", ("AM", "PM"), NNBSP, notice=EN_NOTICE),
        Locale(
            "en_US_ios", True, "mdy", "/", False, 2, ", ", ("AM", "PM"), NNBSP,
            omitted="image omitted", attached="attached", notice=EN_NOTICE, chat_prefix="WhatsApp Chat - ",
        ),
        Locale("en_GB_android", False, "dmy", "/", True, 4, ", ", notice=EN_NOTICE),
        Locale(
            "en_GB_ios", True, "dmy", "/", True, 4, ", ",
            omitted="image omitted", attached="attached", notice=EN_NOTICE, chat_prefix="WhatsApp Chat - ",
        ),
        # seen: "30.03.25, 13:37 - sammy: IMG-20250330-WA0001.jpg (Datei angehängt)", "<Medien ausgeschlossen>"
        Locale(
            "de_android", False, "dmy", ".", True, 2, ", ",
            omitted="<Medien ausgeschlossen>", attached="Datei angehängt", chat_prefix="WhatsApp Chat mit ",
            notice="Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats, "
            "nicht einmal WhatsApp, kann sie lesen oder anhören. Tippe, um mehr zu erfahren.",
        ),
        Locale(
            "de_ios", True, "dmy", ".", True, 2, ", ",
            omitted="Bild weggelassen", attached="Anhang", chat_prefix="WhatsApp Chat - ",
        ),
        Locale(
            "fr_android", False, "dmy", "/", True, 4, " à ",
            omitted="<Médias omis>", attached="fichier joint", chat_prefix="Discussion WhatsApp avec ",
        ),
        # seen: "9/4/2026, 14:43 - +54 9 264 484-1343: <Multimedia omitido>", "10:37 p. m."
        Locale(
            "es_android", False, "dmy", "/", False, 2, ", ", ("a. m.", "p. m."),
            omitted="<Multimedia omitido>", attached="archivo adjunto", chat_prefix="Chat de WhatsApp con ",
            notice="Los mensajes y las llamadas están cifrados de extremo a extremo. Nadie fuera de este chat, "
            "ni siquiera WhatsApp, puede leerlos ni escucharlos. Toca para obtener más información.",
        ),
        # seen: "[8/1/24 10:32:05] Juan: <adjunto: 00000042-PHOTO-...>"
        Locale(
            "es_ios", True, "dmy", "/", False, 2, " ",
            omitted="imagen omitida", attached="adjunto", chat_prefix="WhatsApp Chat - ",
        ),
        # seen: "08.10.2026 14:07 - Ali Veli: IMG-20261008-WA0001.jpg (dosya ekli)", "<Medya dahil edilmedi>"
        Locale(
            "tr_android", False, "dmy", ".", True, 4, " ",
            omitted="<Medya dahil edilmedi>", attached="dosya ekli", chat_prefix="WhatsApp Sohbeti - ",
            notice="Mesajlar ve aramalar uçtan uca şifrelidir. WhatsApp dahil olmak üzere bu sohbetin dışında "
            "bulunan hiç kimse bunları okuyamaz veya dinleyemez. Daha fazla bilgi edinmek için dokunun.",
        ),
        Locale(
            "ru_android", False, "dmy", ".", True, 4, ", ",
            omitted="<Без медиафайлов>", attached="файл добавлен", chat_prefix="Чат WhatsApp с ",
        ),
        Locale(
            "id_android", False, "dmy", "/", True, 2, " ", time_sep=".",
            omitted="<Media tidak disertakan>", attached="file terlampir", chat_prefix="Chat WhatsApp dengan ",
        ),
        # Arabic: Arabic-Indic digits, RLM after each date number, Arabic comma, ص/م clock.
        # seen: "1/5/2025، 09:17 - +212 616-465609: <تم استبعاد الوسائط>", "PTT-....opus (ملف مرفق)"
        Locale(
            "ar_android", False, "dmy", "/", False, 4, "، ", ("ص", "م"), digits=ARABIC_INDIC, date_mark=RLM,
            omitted="<تم استبعاد الوسائط>", attached="ملف مرفق", chat_prefix="دردشة واتساب مع ", rtl=True,
            notice="الرسائل والمكالمات مشفرة تمامًا بين الطرفين. لا أحد خارج هذه الدردشة، ولا حتى واتساب، "
            "يمكنه قراءتها أو الاستماع إليها. انقر لمعرفة المزيد.",
        ),
        # seen: "27/2/2025، 10:43:51 PM - Name: <المُرفق: 00000021-PHOTO-2025-02-27-22-43-52.jpg>"
        Locale(
            "ar_ios", True, "dmy", "/", False, 4, "، ", ("ص", "م"), digits=ARABIC_INDIC, date_mark=RLM,
            omitted="تم استبعاد الصورة", attached="المُرفق", chat_prefix="WhatsApp Chat - ", rtl=True,
        ),
        Locale(
            "fa_android", False, "ymd", "/", False, 4, "، ", digits=PERSIAN, date_mark=RLM,
            omitted="<رسانه حذف شد>", attached="فایل پیوست شد", chat_prefix="گفتگوی واتس‌اپ با ", rtl=True,
        ),
        # Persian iOS follows the phone's Solar Hijri calendar: "[۱۳۹۹/۶/۲۲، ۲۳:۵۵:۰۱]"
        Locale(
            "fa_ios", True, "ymd", "/", False, 4, "، ", digits=PERSIAN, date_mark=RLM, calendar="jalali",
            omitted="تصویر حذف شد", attached="پیوست", chat_prefix="WhatsApp Chat - ", rtl=True,
        ),
        Locale(
            "ckb_android", False, "dmy", "/", False, 4, "، ", ("ب.ن", "د.ن"), digits=ARABIC_INDIC, date_mark=RLM,
            omitted="<میدیا لابرا>", attached="فایل هاوپێچ کراوە", chat_prefix="گفتوگۆی واتسئاپ لەگەڵ ", rtl=True,
        ),
    )
}

# Markers seen in exports of locales the writer does not render (read, never written).
EXTRA_OMITTED = {
    "<media omitted>": "other",
    "<médias omis>": "other",
    "<mídia oculta>": "other",
    "<media omessi>": "other",
    "<media weggelaten>": "other",
    "image omitted": "photo",
    "video omitted": "video",
    "audio omitted": "voice",
    "sticker omitted": "sticker",
    "gif omitted": "video",
    "document omitted": "file",
    "contact card omitted": "file",
    "bild weggelassen": "photo",
    "video weggelassen": "video",
    "audio weggelassen": "voice",
    "sticker weggelassen": "sticker",
    "imagen omitida": "photo",
    "video omitido": "video",
    "audio omitido": "voice",
    "sticker omitido": "sticker",
    "görüntü dahil edilmedi": "photo",
    "video dahil edilmedi": "video",
    "ses dahil edilmedi": "voice",
    "çıkartma dahil edilmedi": "sticker",
    "<medya atlanmış>": "other",
    "<медиа скрыто>": "other",
    "تم استبعاد الفيديو": "video",
    "تم استبعاد الصوت": "voice",
    "تم استبعاد جهة الاتصال": "file",
    "<メディアは含まれていません>": "other",
    "<省略多媒體檔案>": "other",
    "<媒体省略>": "other",
    "<미디어 파일을 생략한 대화내용>": "other",
}
EXTRA_ATTACHED = (
    "file attached", "attached", "archivo adjunto", "fichier joint", "arquivo anexado", "file allegato",
    "الملف مرفق", "файл прикреплен",
)

# "WhatsApp Chat with X.txt" and its translations (the chat name follows the prefix).
EXTRA_CHAT_PREFIXES = ("WhatsApp Chat - ", "WhatsApp-Chat mit ", "Conversa do WhatsApp com ", "WhatsApp Chat with ")


def omitted_markers() -> dict[str, str]:
    """Lower-cased "media left out" markers -> MediaRecord kind."""
    markers = dict(EXTRA_OMITTED)
    for loc in LOCALES.values():
        markers.setdefault(loc.omitted.lower(), "photo" if loc.ios else "other")
    return markers


def attached_labels() -> frozenset[str]:
    """Lower-cased Android "(file attached)" labels."""
    return frozenset(EXTRA_ATTACHED) | {loc.attached.lower() for loc in LOCALES.values() if not loc.ios}


def chat_prefixes() -> tuple[str, ...]:
    """Prefixes of export file names before the chat name, longest first."""
    names = set(EXTRA_CHAT_PREFIXES) | {loc.chat_prefix for loc in LOCALES.values()}
    return tuple(sorted(names, key=len, reverse=True))
