"""Department files: the text encoding decided once per file, and only when the whole file is valid in it.

UTF-8 (with or without a byte-order mark) first, then GB18030 (what spreadsheets save on Chinese
Windows). GB18030 can read almost any bytes, UTF-8 text included ("王芳" in UTF-8 reads as "鐜嬭姵"),
so a file that is not UTF-8 as a whole is read as GB18030 only when none of its lines is UTF-8
text of three- or four-byte characters (Chinese in UTF-8 is made of them; GB18030 text is valid
UTF-8 of such characters almost never: not once in 200,000 generated Chinese names, of which one
in 140 was valid UTF-8 of one- and two-byte characters by chance). A file with such a line and a line
that is not UTF-8 is a mix (a UTF-8 file with rows pasted from another): refused, naming the first
line that is not UTF-8, rather than stored as mojibake. A file valid in neither is refused naming
the first line valid in neither.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

BOM = b"\xef\xbb\xbf"
UTF8, GB18030 = "utf-8", "gb18030"

MIXED = _("第 %(line)s 行不是 UTF-8 编码，而文件其余部分是 UTF-8：请将整个文件另存为 UTF-8 后重新提交。")
NEITHER = _("第 %(line)s 行既不是有效的 UTF-8 编码，也不是有效的 GB18030 编码：请将整个文件另存为 UTF-8 后重新提交。")


class UndecodableFile(ValueError):
    """The file is not valid text in one encoding: `line` is the first offending line (1-based)."""

    def __init__(self, line: int, message) -> None:
        self.line = line
        self.message = message % {"line": line}
        super().__init__(str(self.message))


def lines_encoding(lines: Iterable[bytes], *, bom: bool = False) -> str:
    """The encoding of a whole file given as its lines (bytes, any line endings), or UndecodableFile.

    One pass, a line at a time (memory bounded whatever the file); `bom`: the file began with
    UTF-8's byte-order mark (already removed from the first line), which declares UTF-8.
    """
    first_not_utf8 = first_in_neither = None
    utf8_seen = bom
    for number, line in enumerate(lines, start=1):
        if line.isascii():
            continue
        try:
            text = line.decode(UTF8)
        except UnicodeDecodeError:
            if first_not_utf8 is None:
                first_not_utf8 = number
            if first_in_neither is None:
                try:
                    line.decode(GB18030)
                except UnicodeDecodeError:
                    first_in_neither = number
            continue
        utf8_seen = utf8_seen or any(ord(character) >= 0x800 for character in text)
    if first_not_utf8 is None:
        return UTF8
    if utf8_seen:
        raise UndecodableFile(first_not_utf8, MIXED)
    if first_in_neither is not None:
        raise UndecodableFile(first_in_neither, NEITHER)
    return GB18030


def file_text(content: bytes) -> str:
    """The text of a whole file (the byte-order mark removed), or UndecodableFile."""
    bom = content.startswith(BOM)
    body = content[len(BOM) :] if bom else content
    try:
        return body.decode(UTF8)
    except UnicodeDecodeError:
        pass
    return body.decode(lines_encoding(body.splitlines(), bom=bom))
