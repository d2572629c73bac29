"""Cap the derived text of a message: what is analysed, shown and rendered stays bounded,
while the message's original bytes stay whole in the evidence store."""

from __future__ import annotations


def cap_text(text: str, limit: int) -> tuple[str, int | None]:
    """`text` cut to its first `limit` characters, and its whole length when it was cut (else None)."""
    if len(text) <= limit:
        return text, None
    return text[:limit], len(text)


def truncation_note(text_length: int | None, raw_length: int | None, raw_sha256: str, shown: int) -> str | None:
    """The line shown beside a cut text: what is shown, and the size and hash of the original bytes."""
    if text_length is None:
        return None
    size = f"{raw_length:,} bytes" if raw_length is not None else "size unknown"
    return (f"Text cut: the first {shown:,} of {text_length:,} characters are shown and analysed; "
            f"the original message ({size}, SHA-256 {raw_sha256}) is kept whole in the evidence store.")
