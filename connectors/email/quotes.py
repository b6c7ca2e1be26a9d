"""Strip quoted history and signatures from a customer's reply (the raw mail is kept).

The stored text is what the customer wrote this time, so the bot analyses the new question,
not the whole thread. Heuristics cover the reply headers of common clients in several
languages, ``>`` quoting, Outlook's separator blocks, the ``-- `` signature delimiter and
"sent from my phone" footers. If stripping would leave nothing, the full text is kept.
"""

from __future__ import annotations

import re

__all__ = ["strip_quotes"]

_REPLY_HEADER = re.compile(
    r"""^\s*(
        On\s.{1,200}?\swrote:\s*$                      # Gmail, Apple Mail, Thunderbird (en)
      | Am\s.{1,200}?\sschrieb\s.{0,200}:\s*$            # de
      | Le\s.{1,200}?\sa\sécrit\s?:\s*$                  # fr
      | El\s.{1,200}?\sescribió:\s*$                     # es
      | Il\s.{1,200}?\sha\sscritto:\s*$                  # it
      | Op\s.{1,200}?\sschreef\s.{0,200}:\s*$            # nl
      | Em\s.{1,200}?\sescreveu:\s*$                     # pt
      | 在.{1,200}?写道[:\uff1a]\s*$                           # zh
      | .{1,200}?のメッセージ[:\uff1a]?\s*$                    # ja (… <addr>のメッセージ:)
      | -{2,}\s*(Original\sMessage|Ursprüngliche\sNachricht|Message\sd'origine|Mensaje\soriginal)\s*-{2,}\s*$
      | -{2,}\s*Forwarded\smessage\s*-{2,}\s*$
      | -{3,}\s*.{1,200}?\s(wrote|schrieb|a\sécrit|escribió|ha\sscritto|schreef)\s?:\s*-{3,}\s*$  # Domino
      | _{20,}\s*$                                       # Outlook separator line
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*\*?(From|Von|De|Van|Da|Från)\s?:\*?\s.+$", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Gesendet|Envoyé|Date|Datum|Verzonden|Inviato|To|An|À)\s?:", re.I)
# Any line of a client's header block of the quoted mail; Lotus Domino starts it with "To:",
# GMX and web.de with "Gesendet:", so the block is recognised by its lines, whatever comes first.
_BLOCK_LINE = re.compile(
    r"^\s*\*?(From|Von|De|Van|Da|Från|Sent|Gesendet|Envoyé|Date|Datum|Verzonden|Inviato|To|An|À|Aan|A|Para"
    r"|Cc|Kopie|Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Assunto)\s?:\*?(\s|$)",
    re.IGNORECASE,
)
_PHONE_FOOTER = re.compile(
    r"^\s*(Sent from my \w+|Von meinem \w+ gesendet|Envoyé de mon \w+|Get Outlook for \w+"
    r"|Sent from (Mail|Outlook|Yahoo Mail)( for \w+)?)\b.*$",
    re.IGNORECASE,
)


def strip_quotes(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _REPLY_HEADER.match(line) and i > 0:
            break
        if i > 0 and _joined_header(lines[i : i + 3]):
            break  # "On Mon, 1 Jan 2024, Ada <a@b.c>\nwrote:" (wrapped by the client)
        if (
            _OUTLOOK_HEADER.match(line)
            and i > 0
            and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 4])
        ):
            break
        if i > 0 and _header_block(lines[i : i + 5]):
            break
        if line.rstrip() == "--" or line == "-- ":
            break
        if _PHONE_FOOTER.match(line):
            break
        kept.append(line)
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()  # a trailing quoted block (bottom-posting keeps interleaved quotes above)
    body = "\n".join(line for line in kept if not line.lstrip().startswith(">")).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    return body or text.strip()


def _joined_header(lines: list[str]) -> bool:
    """A reply header wrapped over two or three lines by the client."""
    if not lines or not lines[0].strip() or _REPLY_HEADER.match(lines[0]):
        return False
    joined = lines[0].rstrip()
    for following in lines[1:]:
        if not following.strip():
            return False
        joined = f"{joined} {following.strip()}"
        if _REPLY_HEADER.match(joined):
            return True
    return False


def _header_block(lines: list[str]) -> bool:
    """Three header lines of the quoted mail in a row, one of them its sender."""
    block = []
    for line in lines:
        if not _BLOCK_LINE.match(line):
            break
        block.append(line)
    return (
        len(block) >= 3
        and _BLOCK_LINE.match(lines[0]) is not None
        and any(_OUTLOOK_HEADER.match(b) for b in block)
    )
