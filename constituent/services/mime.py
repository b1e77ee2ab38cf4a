"""Reading a saved email whole: every text part in document order (HTML turned to text),
inline pictures and attachments at their place, forwarded messages (message/rfc822, digests)
quoted with their own From, Date and Subject, charsets read as browsers read them (WHATWG
Encoding Standard), and damaged structure salvaged and said so, never silently dropped."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email import utils as email_utils
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser

import webencodings

MAX_PARTS = 500  # leaves of one message: more is a mail bomb, not a letter
MAX_DEPTH = 50  # nested multiparts and forwards (real mail nests a handful deep)
MAX_CONTAINERS = 200  # multipart and forwarded-message headers, counted before parsing
DAMAGED = "Structure damaged: shown as received."
SIGNATURES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)

FORWARD_START = "---------- Forwarded message ----------"
FORWARD_END = "---------- End of forwarded message ----------"

_BASE64_DEFECTS = (
    email_errors.InvalidBase64PaddingDefect,
    email_errors.InvalidBase64CharactersDefect,
    email_errors.InvalidBase64LengthDefect,
)
_STRUCTURE_DEFECTS = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.NoBoundaryInMultipartDefect,
)
_C1 = re.compile("[\x80-\x9f]")
_BOUNDARY_LINE = re.compile(rb"^--([^\s\r\n]{1,200}?)(--)?[ \t]*\r?$", re.M)
_MULTIPART_HEADS = re.compile(rb"content-type:\s*(?:multipart|message/rfc822)", re.I)


class Unreadable(Exception):
    """The bytes cannot be read as a message; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class FoundAttachment:
    """A file found in the message, where it was."""

    filename: str
    content_type: str
    data: bytes
    inline_picture: bool = False


@dataclass
class Reading:
    """What a person sees of a message: the text in order, the files, and what was left."""

    text: str = ""
    attachments: list[FoundAttachment] = field(default_factory=list)
    shown: int = 0  # parts whose words or files are shown
    skipped: list[str] = field(default_factory=list)  # one reason per part left out
    notices: list[str] = field(default_factory=list)  # charsets guessed, damage salvaged
    damaged: bool = False
    forwards: int = 0

    def summary(self) -> list[str]:
        """The lines the message page shows about its parts (stored with the message)."""
        lines = []
        if self.damaged:
            lines.append(DAMAGED)
        total = self.shown + len(self.skipped)
        parts = "part" if total == 1 else "parts"
        line = f"{self.shown} of {total} {parts} shown"
        if self.skipped:
            reasons: dict[str, int] = {}
            for reason in self.skipped:
                reasons[reason] = reasons.get(reason, 0) + 1
            line += "; skipped: " + "; ".join(
                f"{reason}" + (f" (×{n})" if n > 1 else "") for reason, n in reasons.items()
            )
        lines.append(line + ".")
        if self.forwards:
            lines.append(
                f"{self.forwards} forwarded {'message' if self.forwards == 1 else 'messages'} "
                "quoted in the text."
            )
        lines += list(dict.fromkeys(self.notices))
        return lines


# Charsets ----------------------------------------------------------------------------------------


def no_c1(text: str) -> str:
    """C1 control characters never reach a page: those windows-1252 gives a meaning to (0x92
    is ’) become that character, the five it leaves undefined become U+FFFD."""

    def swap(match: re.Match[str]) -> str:
        try:
            return bytes([ord(match.group(0))]).decode("cp1252")
        except UnicodeDecodeError:
            return "\ufffd"

    return _C1.sub(swap, text)


def decode_text(data: bytes, label: str | None) -> tuple[str, str]:
    """Bytes of a text part as text, and a notice ('' when none): the charset label as the
    WHATWG Encoding Standard maps it (iso-8859-1, latin1, us-ascii → windows-1252); no label
    or an unknown one → UTF-8 when the bytes are valid UTF-8, else windows-1252."""
    label = (label or "").strip().strip("\"'")
    encoding = webencodings.lookup(label) if label else None
    notice = ""
    if encoding is None or encoding.name == "replacement":
        try:
            text = data.decode("utf-8")
            guessed = "UTF-8"
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            guessed = "Windows-1252 (Western European)"
        if label:
            notice = (
                f"A part names the character set “{label[:40]}”, which is unknown: it was "
                f"read as {guessed} from its content; a few letters may be wrong."
            )
        return no_c1(text), notice
    try:
        text = codecs.decode(data, encoding.codec_info.name, errors="strict")
    except (UnicodeDecodeError, LookupError):
        text = codecs.decode(data, encoding.codec_info.name, errors="replace")
        notice = (
            f"A part labelled {encoding.name} holds bytes that are not {encoding.name}: "
            "those were shown as �."
        )
    if encoding.name == "utf-8" and text.startswith("\ufeff"):
        text = text[1:]
    return no_c1(text), notice


# HTML --------------------------------------------------------------------------------------------


class _TextFromHTML(HTMLParser):
    """Plain text out of an HTML mail body: tags dropped, scripts and styles ignored,
    block elements turned into line breaks. Nothing of the HTML is ever rendered."""

    BLOCKS = frozenset(
        "p div br tr li h1 h2 h3 h4 h5 h6 blockquote pre table ul ol hr section article "
        "header footer address dd dt".split()
    )
    SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a skipped element, break the line before a block, name a picture."""
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")
        elif tag == "img" and not self.skipping:
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self.parts.append(f" [picture: {alt.strip()[:120]}] ")

    def handle_endtag(self, tag: str) -> None:
        """Close a skipped element, or break the line after a block."""
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        """Keep text outside skipped elements."""
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (standard-library parser; never rendered as HTML)."""
    parser = _TextFromHTML()
    parser.feed(html)
    parser.close()
    return tidy("".join(parser.parts))


def tidy(text: str) -> str:
    """Lines trimmed, runs of blank lines cut to one, no-break spaces as spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# The walk ----------------------------------------------------------------------------------------


def _charset(part: Message) -> str | None:
    """The part's charset parameter as text (an RFC 2231 value collapsed), or None."""
    value = part.get_param("charset")
    if isinstance(value, tuple):
        value = email_utils.collapse_rfc2231_value(value)
    return value if isinstance(value, str) else None


def _subparts(payload: list[Message | str]) -> list[Message]:
    """A multipart's parts (the parser never puts anything else in the list)."""
    return [sub for sub in payload if isinstance(sub, Message)]


def _one_line(value: object, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def _header(part: Message, name: str) -> str:
    try:
        return no_c1(_one_line(part.get(name, ""), 300))
    except Exception:  # a header the policy cannot parse: show nothing rather than fail
        return ""


def _payload_bytes(part: Message, reading: Reading) -> bytes:
    """The part's content after its transfer encoding; damage noted, never fatal."""
    try:
        decoded = part.get_payload(decode=True)
    except Exception:
        decoded = None
    data = decoded if isinstance(decoded, bytes) else None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if any(isinstance(d, _BASE64_DEFECTS) for d in part.defects):
        data = _lenient_base64(part) or data
        reading.damaged = True
        reading.notices.append(
            "A part's transfer encoding is damaged: what could be decoded is shown."
        )
    return data


def _lenient_base64(part: Message) -> bytes:
    """Damaged base64 decoded as far as it goes: stray characters dropped, a short tail cut."""
    raw = part.get_payload()
    if not isinstance(raw, str):
        return b""
    compact = re.sub(r"[^A-Za-z0-9+/]", "", raw.split("=", 1)[0])
    compact = compact[: len(compact) - len(compact) % 4]
    try:
        return base64.b64decode(compact)
    except (binascii.Error, ValueError):
        return b""


def _status_text(part: Message) -> str:
    """A delivery report's fields (message/delivery-status), one per line."""
    lines = []
    for block in part.get_payload():
        if isinstance(block, Message):
            lines += [f"{name}: {_one_line(value, 300)}" for name, value in block.items()]
            lines.append("")
    return tidy("\n".join(lines))


def _filename(part: Message) -> str:
    try:
        return _one_line(part.get_filename() or "", 255)
    except Exception:
        return ""


class _Walker:
    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.blocks: list[str] = []
        self.leaves = 0

    def text(self, words: str) -> None:
        if words.strip():
            self.blocks.append(words)

    def leaf(self) -> None:
        self.leaves += 1
        if self.leaves > MAX_PARTS:
            raise Unreadable(
                f"The message has more than {MAX_PARTS} parts: it is not a letter an agency "
                "would send. It was not imported."
            )

    def walk(self, part: Message, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Unreadable(
                f"The message nests parts more than {MAX_DEPTH} levels deep: it was not "
                "imported (no mail program writes such a message)."
            )
        if any(isinstance(d, _STRUCTURE_DEFECTS) for d in part.defects):
            self.reading.damaged = True
        ctype = part.get_content_type()
        maintype = part.get_content_maintype()
        payload = part.get_payload()
        if ctype in ("message/delivery-status", "message/disposition-notification"):
            self.leaf()
            self.text(_status_text(part) if isinstance(payload, list) else str(payload))
            self.reading.shown += 1
        elif ctype == "message/rfc822" or (maintype == "message" and isinstance(payload, list)):
            self.forward(part, depth)
        elif maintype == "multipart" and isinstance(payload, list):
            if part.get_content_subtype() == "alternative":
                self.alternative(part, depth)
            else:
                for sub in _subparts(payload):
                    self.walk(sub, depth + 1)
        elif maintype == "multipart":  # a multipart whose boundary never comes: as received
            self.leaf()
            self.reading.damaged = True
            data = _payload_bytes(part, self.reading)
            text, notice = decode_text(data, _charset(part))
            self.text(tidy(text))
            if notice:
                self.reading.notices.append(notice)
            self.reading.shown += 1
        else:
            self.single(part)

    def forward(self, part: Message, depth: int) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            self.single(part)
            return
        self.reading.forwards += 1
        head = [FORWARD_START]
        for name in ("From", "Date", "Subject", "To"):
            value = _header(inner, name)
            if value:
                head.append(f"{name}: {value}")
        self.blocks.append("\n".join(head))
        self.walk(inner, depth + 1)
        self.blocks.append(FORWARD_END)

    def alternative(self, part: Message, depth: int) -> None:
        """The same words several ways: show the plain text (or the HTML when the plain text is
        empty), skip the other versions, keep the files found in any of them."""
        options = [p for p in part.get_payload() if isinstance(p, Message)]
        chosen = None
        for wanted in ("text/plain", "text/html"):
            for option in options:
                if option.get_content_type() == wanted and _payload_bytes(option, Reading()).strip(
                    b" \t\r\n"
                ):
                    chosen = option
                    break
            if chosen is not None:
                break
        if chosen is None:
            chosen = next(
                (o for o in options if o.get_content_maintype() == "multipart"),
                options[-1] if options else None,
            )
        for option in options:
            if option is chosen:
                self.walk(option, depth + 1)
            elif option.get_content_maintype() == "multipart":
                # e.g. multipart/related: its HTML is a copy of the text; its pictures are kept.
                self.files_only(option, depth + 1)
            else:
                self.leaf()
                self.reading.skipped.append(
                    f"the {option.get_content_type()} copy of the same text"
                )

    def files_only(self, part: Message, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Unreadable(
                f"The message nests parts more than {MAX_DEPTH} levels deep: it was not imported."
            )
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in _subparts(payload):
                self.files_only(sub, depth + 1)
        elif part.get_content_maintype() == "text":
            self.leaf()
            self.reading.skipped.append(f"the {part.get_content_type()} copy of the same text")
        else:
            self.single(part)

    def single(self, part: Message) -> None:
        self.leaf()
        reading = self.reading
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = _filename(part)
        data = _payload_bytes(part, reading)
        is_text = part.get_content_maintype() == "text" or ctype in (
            "message/delivery-status",
            "message/disposition-notification",
        )
        if is_text and disposition != "attachment":
            if not data.strip():
                reading.skipped.append("an empty text part")
                return
            text, notice = decode_text(data, _charset(part))
            if notice:
                reading.notices.append(notice)
            if part.get_content_subtype() == "html":
                text = html_to_text(text)
            elif ctype == "text/enriched":
                text = tidy(re.sub(r"<[^<>]{1,40}>", "", text))
            else:
                text = tidy(text)
            self.text(text)
            reading.shown += 1
            return
        if not data:
            reading.skipped.append(f"an empty attachment{f' ({filename})' if filename else ''}")
            return
        if ctype in SIGNATURES:
            reading.skipped.append("a digital signature (it proves who sent it, and is no text)")
            return
        inline_picture = part.get_content_maintype() == "image" and disposition != "attachment"
        number = len(reading.attachments) + 1
        name = filename or f"{'picture' if inline_picture else 'attachment'}-{number}"
        reading.attachments.append(
            FoundAttachment(name, ctype[:100], data, inline_picture=inline_picture)
        )
        self.blocks.append(f"[{'picture' if inline_picture else 'attachment'}: {name}]")
        reading.shown += 1


def read_message(msg: Message) -> Reading:
    """Walk a parsed message's whole MIME tree into what a person reads."""
    reading = Reading()
    walker = _Walker(reading)
    walker.walk(msg, 0)
    reading.text = "\n\n".join(walker.blocks).strip()
    return reading


# Parsing, with salvage ---------------------------------------------------------------------------


def parse_bytes(raw: bytes) -> EmailMessage:
    """The standard library's parser (never raises on damaged input; notes defects)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # policy.default's message factory
    return message


def too_deep(raw: bytes) -> bool:
    """A cheap look before parsing: more multipart or forwarded-message headers than any
    letter has (a message nested 3,000 levels deep is refused in milliseconds)."""
    return len(_MULTIPART_HEADS.findall(raw, 0, len(raw))) > MAX_CONTAINERS


def boundary_used(raw: bytes, declared: str | None) -> str | None:
    """When a multipart's declared boundary is missing or never appears, the boundary the
    body actually uses ('--xyz' lines that come back), if there is one."""
    body_at = re.search(rb"\r?\n\r?\n", raw)
    body = raw[body_at.end() :] if body_at else b""
    counts: dict[bytes, int] = {}
    for match in _BOUNDARY_LINE.finditer(body):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    candidates = [b for b, n in counts.items() if n >= 2 or (b + b"--") in counts]
    if not candidates:
        return None
    best = max(candidates, key=lambda b: counts[b])
    text = best.decode("ascii", "replace")
    return None if text == declared else text


def cut_off(raw: bytes, msg: Message) -> bool:
    """Whether the file truly ends in the middle of a part: a multipart whose closing
    boundary never comes AND whose last bytes stop mid-line, mid-encoding, or inside an
    encoded file (whose end cannot be told apart from a cut, so it is never half-kept). A
    text part left unclosed is only damaged structure: its words are shown."""
    closes = [
        p
        for p in msg.walk()
        if any(isinstance(d, email_errors.CloseBoundaryNotFoundDefect) for d in p.defects)
    ]
    if not closes:
        return False
    if not raw.rstrip(b" \t").endswith(b"\n"):
        return True
    last = None
    for part in msg.walk():
        if not part.is_multipart():
            last = part
    if last is not None and (last.get("Content-Transfer-Encoding", "") or "").lower() == "base64":
        if last.get_content_maintype() != "text":
            return True
        body = last.get_payload()
        if isinstance(body, str):
            compact = re.sub(r"\s", "", body)
            return len(compact) % 4 != 0
    return False


def with_boundary(raw: bytes, boundary: str) -> bytes:
    """The message with its top Content-Type naming the boundary its body uses."""
    body_at = re.search(rb"\r?\n\r?\n", raw)
    if body_at is None:
        return raw
    head, body = raw[: body_at.start()], raw[body_at.start() :]
    kind = re.search(rb"(?im)^content-type:\s*(multipart/[a-z0-9.+-]+)", head)
    subtype = kind.group(1) if kind else b"multipart/mixed"
    head = re.sub(rb"(?im)^content-type:.*(?:\r?\n[ \t].*)*(?:\r?\n|$)", b"", head)
    line = b"Content-Type: " + subtype + b'; boundary="' + boundary.encode() + b'"'
    return line + b"\n" + head.rstrip(b"\r\n") + body
