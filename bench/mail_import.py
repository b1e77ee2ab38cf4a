"""Benchmark importing agency email: generated .eml files into the demo office.

    python bench/mail_import.py --scale 500 --messages 10000   # 200,000 cases, 10,000 messages
    python bench/mail_import.py                  # demo office at --scale 10 (4,000 cases)
    python bench/mail_import.py --scale 10 --messages 2000 --database postgresql://...

Half the messages carry this office's tag [CODE C-N CHECK] (a share of those from the liaison
of the case's open referral, so they become agency responses); a few carry an old-style
[Case #N], another office's tag or a forged check (they queue); the rest are untagged (some
mention a case number, some come from a constituent's address, some are HTML only or forward
another message, a few are truncated mid-MIME and refused); some carry a PDF or a Word file.
They are imported as `flask mail import FOLDER` does (one SAVEPOINT per message, a commit
every 100, a report without records). The reference is plain ``email.message_from_bytes``
over the same files. Prints messages per second of both and the ratio, the rate and the peak
memory (resident set) at each quarter of the mailbox — flat when memory does not grow with
the mailbox — and the counts filed, queued, duplicate and refused; asserts nothing.

The seeded SQLite database is kept in the temp folder and copied afresh for every run, so
each run imports into the same office (with --database the office keeps earlier runs' mail).
"""

from __future__ import annotations

import argparse
import email
import random
import resource
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import WORK, database_url, seeded_app  # noqa: E402
from constituent.extensions import db  # noqa: E402
from constituent.models import (  # noqa: E402
    AgencyContact,
    AgencyResponse,
    Case,
    CaseStatus,
    ContactKind,
    ContactPoint,
    Referral,
    ReferralStatus,
)
from constituent.models.mail import AttachmentOutcome, InboundAttachment  # noqa: E402
from constituent.services import mail as mail_service  # noqa: E402
from constituent.services import tags  # noqa: E402

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n" + b"0" * 40_000 + b"\ntrailer<<>>\n%%EOF\n"
DOCX = b"PK\x03\x04" + b"\x00" * 20_000
AGENCY_LINES = [
    "Thank you for your inquiry on behalf of your constituent.",
    "We have reviewed the file and the payment will be reissued within ten business days.",
    "Additional documentation is required: please ask the constituent for proof of residence.",
    "The application is pending review by a senior adjudicator.",
    "Our records show the matter has been resolved; a notice was mailed to the constituent.",
]


def _message(
    rng: random.Random,
    n: int,
    subject: str,
    body: str,
    sender: str,
    attach: str | None,
    style: str = "plain",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "casework@office.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(hours=rng.randint(1, 48)))
    msg["Message-ID"] = f"<bench-{n}-{rng.getrandbits(48):x}@agency.example>"
    if style == "html":
        msg.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
    else:
        msg.set_content(body)
    if style == "forward":
        inner = EmailMessage()
        inner["From"] = "region@agency.example.gov"
        inner["Subject"] = "Regional answer"
        inner.set_content(body)
        msg.add_attachment(inner)
    if attach == "pdf":
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="letter.pdf")
    elif attach == "docx":
        msg.add_attachment(
            DOCX,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename="form.docx",
        )
    return msg.as_bytes()


def _resident_mb() -> float:
    """The process's resident memory now (Linux /proc; else the peak so far)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, count: int, rng: random.Random) -> dict[str, int]:
    """Write ``count`` agency emails as .eml files; returns how many of each kind."""
    referred = db.session.execute(
        sa.select(Case.number, AgencyContact.email)
        .join(Referral, Referral.case_id == Case.id)
        .join(AgencyContact, AgencyContact.id == Referral.contact_id)
        .where(
            Referral.status.in_((ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)),
            AgencyContact.email.is_not(None),
            Case.status != CaseStatus.CLOSED,
        )
    ).all()
    numbers = list(db.session.scalars(sa.select(Case.number)))
    contacts = [
        e
        for e in db.session.scalars(
            sa.select(AgencyContact.email).where(AgencyContact.email.is_not(None))
        )
    ]
    constituents = list(
        db.session.scalars(
            sa.select(ContactPoint.value).where(ContactPoint.kind == ContactKind.EMAIL).limit(5000)
        )
    )
    rng.shuffle(referred)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    kinds = {
        "tagged": 0,
        "from the referral's liaison": 0,
        "untrusted tags": 0,
        "untagged": 0,
        "truncated": 0,
    }
    code = tags.office_code()
    untrusted = max(3, count // 50)
    tagged = count // 2
    truncated = max(1, count // 100)
    for n in range(count):
        attach = rng.choices([None, "pdf", "docx"], [88, 10, 2])[0]
        text = " ".join(rng.sample(AGENCY_LINES, 2))
        if n < tagged:
            kinds["tagged"] += 1
            if n < min(len(referred), int(tagged * 0.4)):
                number, sender = referred[n]
                kinds["from the referral's liaison"] += 1
            else:
                number = rng.choice(numbers)
                sender = rng.choice(contacts + [f"reply{n}@other-office.example"])
            tag = tags.case_tag(number, code)
            data = _message(
                rng,
                n,
                f"RE: Congressional inquiry {tag}",
                f"{text}\n\nPlease quote {tag} in any reply.",
                sender,
                attach,
            )
        elif n < tagged + untrusted:
            kinds["untrusted tags"] += 1
            number = rng.choice(numbers)
            tag = rng.choice(
                [
                    f"[Case #{number}]",
                    tags.case_tag(number, "ZZ99"),
                    f"[{code} C-{number} AAAAA]",
                ]
            )
            data = _message(rng, n, f"RE: {tag}", text, rng.choice(contacts), attach)
        elif n < tagged + untrusted + truncated:
            kinds["truncated"] += 1
            whole = _message(
                rng,
                n,
                f"RE: Congressional inquiry [Case #{rng.choice(numbers)}]",
                text,
                rng.choice(contacts),
                "pdf",
            )
            data = whole[: len(whole) // 2]
        else:
            kinds["untagged"] += 1
            style = n % 5
            form = "plain"
            if style == 0:
                body = f"{text}\n\nThis concerns case number {rng.choice(numbers)}."
                sender = rng.choice(contacts)
            elif style == 1 and constituents:
                body = "I am writing about my case. Has the agency answered yet?"
                sender = rng.choice(constituents)
            else:
                body = text
                sender = rng.choice(contacts)
                form = {2: "plain", 3: "html", 4: "forward"}.get(style, "plain")
            data = _message(rng, n, "Your inquiry", body, sender, attach, form)
        (folder / f"{n:05d}.eml").write_bytes(data)
    return kinds


def main() -> None:
    """Seed (once) and copy the office, generate the messages, time both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in /tmp)")
    args = parser.parse_args()

    if args.database:
        app = seeded_app("mail", args.scale, args.database)
    else:
        template = seeded_app("mail", args.scale)
        with template.app_context():
            db.engine.dispose()
        source = Path(database_url("mail", args.scale, None).removeprefix("sqlite:///"))
        target = WORK / f"mail-run-scale{args.scale}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        shutil.rmtree(WORK / "mail-uploads", ignore_errors=True)
        app = seeded_app(
            "mail-run", args.scale, f"sqlite:///{target}", UPLOAD_DIR=str(WORK / "mail-uploads")
        )

    folder = WORK / f"mail-messages-scale{args.scale}"
    with app.app_context():
        cases = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
        kinds = generate(folder, args.messages, random.Random(2026))
        paths = sorted(folder.glob("*.eml"))
        size = sum(p.stat().st_size for p in paths)

        # Reference: the standard library's parser alone over the same files (best of 3).
        reference = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for path in paths:
                email.message_from_bytes(path.read_bytes())
            reference = min(reference, time.perf_counter() - started)

        responses_before = db.session.scalar(sa.select(sa.func.count()).select_from(AgencyResponse))
        done = 0

        def imported(_result: mail_service.MessageReport) -> None:
            """Commit every 100 messages, as `flask mail import` does."""
            nonlocal done
            done += 1
            if done % 100 == 0:
                db.session.commit()

        quarter = max(1, len(paths) // 4)
        samples = [_resident_mb()]  # resident memory every 50 messages
        checkpoints: list[tuple[int, float, float]] = []  # (messages, seconds, peak RSS MB)
        started = time.perf_counter()
        sources = mail_service.sources_in_path(folder)

        def imported_and_measured(result: mail_service.MessageReport) -> None:
            imported(result)
            if done % 50 == 0:
                samples.append(_resident_mb())
            if done % quarter == 0 or done == len(paths):
                checkpoints.append((done, time.perf_counter() - started, max(samples)))

        report = mail_service.import_sources(
            sources, user=None, on_message=imported_and_measured, keep_records=False
        )
        db.session.commit()
        elapsed = time.perf_counter() - started

        responses = (
            db.session.scalar(sa.select(sa.func.count()).select_from(AgencyResponse))
            - responses_before
        )
        kept = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(InboundAttachment)
            .where(InboundAttachment.outcome == AttachmentOutcome.KEPT)
        )
        dialect = db.engine.dialect.name

    n = len(paths)
    rate, ref_rate = n / elapsed, n / reference
    counts = report.counts
    print(f"Mail import into the demo office at scale {args.scale} ({cases:,} cases, {dialect}):")
    print(
        f"  {n:,} messages, {size / 1e6:.1f} MB: "
        + ", ".join(f"{v:,} {k}" for k, v in kinds.items())
    )
    print(
        f"  import (parse, tag, file, respond, attachments, commit)  "
        f"{rate:9,.1f} messages/s  ({elapsed:.2f} s)"
    )
    print(
        f"  email.message_from_bytes over the same files (reference) "
        f"{ref_rate:9,.1f} messages/s  ({reference:.2f} s)"
    )
    print(f"  ratio: the import runs at 1/{ref_rate / rate:,.0f} of the parser's rate")
    print("  as the mailbox grows (peak resident memory during the import so far):")
    last_n, last_t = 0, 0.0
    for done_n, seconds, peak in checkpoints:
        chunk_rate = (done_n - last_n) / max(seconds - last_t, 1e-9)
        print(f"    after {done_n:6,} messages: {chunk_rate:8,.1f} messages/s, peak {peak:7.1f} MB")
        last_n, last_t = done_n, seconds
    if len(checkpoints) >= 2:
        first, final = checkpoints[0][2], checkpoints[-1][2]
        print(
            f"  memory from the first quarter to the end: {first:.1f} MB -> {final:.1f} MB "
            f"({final / first:.2f}x; 1.00x is flat)"
        )
    print(
        f"  filed {counts[mail_service.ImportOutcome.FILED]:,}, "
        f"queued {counts[mail_service.ImportOutcome.QUEUED]:,}, "
        f"duplicate {counts[mail_service.ImportOutcome.DUPLICATE]:,}, "
        f"refused {counts[mail_service.ImportOutcome.REFUSED]:,}; "
        f"{responses:,} agency responses recorded, {kept:,} attachments kept"
    )


if __name__ == "__main__":
    main()
