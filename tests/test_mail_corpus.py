"""The sample corpus (tests/data/mail/, see its README): every message imports, every word of
every text part is on its message page, and after filing it is found by search.

The words expected are read by an independent path: the standard library's own decoding of
each text part (get_content), HTML tags dropped by a regular expression, never by the code
under test."""

from __future__ import annotations

import html
import re
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from constituent.extensions import db
from constituent.models import InboundMessage, InboundStatus
from tests import factories
from tests.search_support import build, case_numbers, reset_index
from tests.test_mail import make_setup, page_text, upload

CORPUS = Path(__file__).parent / "data" / "mail"
FILES = sorted(CORPUS.glob("*.eml"))
# Parts whose bytes the standard library cannot decode (damaged base64): their words are
# checked by test_mail_reading instead.
UNDECODABLE = {"own-bad-base64.eml"}
WORD = re.compile(r"\w{4,}")


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, ValueError, KeyError, AssertionError):
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        content = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", content)
        content = html.unescape(re.sub(r"<[^>]+>", " ", content))
    return content


def text_parts(msg: Message) -> list[str]:
    """The text of each text part a person should read (one alternative of several)."""
    if msg.get_content_type() == "message/rfc822" or (
        msg.get_content_maintype() == "message" and msg.is_multipart()
    ):
        return [t for inner in msg.get_payload() for t in text_parts(inner)]
    if msg.is_multipart():
        parts = list(msg.get_payload())
        if msg.get_content_subtype() == "alternative":
            plain = [p for p in parts if p.get_content_type() == "text/plain"]
            parts = plain[:1] or parts[-1:]
        return [t for p in parts for t in text_parts(p)]
    if msg.get_content_maintype() != "text" or msg.get_content_disposition() == "attachment":
        return []
    if not isinstance(msg.get_payload(), str):
        return []
    return [_text_of(msg)]


def words_of(text: str) -> list[str]:
    # Lines that are MIME headers or boundaries (a damaged message's structure) are no words.
    lines = [
        line
        for line in text.splitlines()
        if not re.match(r"\s*(--\S|content-[\w-]+:|mime-version:)", line, re.I)
    ]
    # C1 controls are shown as the windows-1252 letters they stand for, so split on them too.
    return WORD.findall(re.sub("[\x80-\x9f]", " ", " ".join(lines)))


def test_the_corpus_is_large_and_its_licences_are_noted():
    assert len(FILES) >= 40
    readme = (CORPUS / "README.md").read_text()
    assert "Python Software Foundation" in readme
    for path in FILES:
        assert path.name in readme or path.name.startswith(("own-", "cpython-")), path.name


def test_every_word_of_every_text_part_is_shown_and_found_by_search(app, client, office):
    make_setup(office)
    reset_index(app)
    files = [(p.read_bytes(), p.name) for p in FILES]
    client.login(office.caseworker.email)
    answer = upload(client, *files)
    report = page_text(answer)
    assert f"{len(files)} messages: " in report and "0 refused" in report, report[:3000]
    # The report's row of each file links to its message (a duplicate to the first copy).
    rows = re.findall(
        r'<th scope="row"[^>]*>([^<]+)</th>\s*<td><a class="usa-link" href="/mail/(\d+)"',
        answer.get_data(as_text=True),
    )
    messages = {name: db.session.get(InboundMessage, int(i)) for name, i in rows}
    assert set(messages) == {name for _raw, name in files}
    searched: list[tuple[str, int, str]] = []
    for raw, name in files:
        message = messages[name]
        page = page_text(client.get(f"/mail/{message.id}"))
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        parts = [] if name in UNDECODABLE else text_parts(parsed)
        for text in parts:
            words = words_of(text)
            missing = [w for w in words if w not in page]
            assert not missing, f"{name}: {missing[:10]} not on the page"
        case = factories.gen_case(office.a, office.category, assignee=office.caseworker)
        db.session.commit()
        if message.status == InboundStatus.UNFILED:
            filed = client.form_post(
                f"/mail/{message.id}/file",
                {f"m{message.id}-case_number": str(case.number)},
                token_from="/mail/",
            )
            assert filed.status_code == 302, name
            number = case.number
        else:
            number = message.case.number
        for text in parts:
            # A word that stands alone (the index joins O'Brien into one word).
            alone = re.findall(r"(?<![\w'’\x92-])\w{4,}(?![\w'’\x92-])", text)
            words = sorted(set(words_of(text)) & set(alone), key=lambda w: (len(w), w))
            if words:
                searched.append((name, number, words[-1]))
    build(app)
    for name, number, word in searched:
        assert number in case_numbers(office.caseworker, word), f"{name}: {word!r} not found"
    assert len(searched) >= 40


@pytest.mark.parametrize("how", ["eml", "mbox"])
def test_no_corpus_message_is_filed_automatically_without_this_offices_tag(client, office, how):
    make_setup(office)
    files = [(p.read_bytes(), p.name) for p in FILES]
    client.login(office.caseworker.email)
    if how == "mbox":
        box = b"".join(
            b"From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n"
            + re.sub(rb"\nFrom ", b"\n>From ", raw)
            + b"\n"
            for raw, _name in files
            if not raw.startswith(b"From ")
        )
        files = [(box, "corpus.mbox")]
    report = page_text(upload(client, *files))
    assert " 0 filed, " in report
    for reason in ("is for another office", "has a check that does not match", "old-style tag"):
        assert reason in report


def test_the_command_line_files_no_corpus_message_without_this_offices_tag(runner, office):
    make_setup(office)
    result = runner.invoke(args=["mail", "import", str(CORPUS)])
    assert f"{len(FILES)} messages: 0 filed, " in result.output, result.output[-2000:]
