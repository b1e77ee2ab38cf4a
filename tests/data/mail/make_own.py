"""Write this folder's own sample messages (own-*.eml): `python tests/data/mail/make_own.py`.

Each is shaped like mail a district office receives: agency replies, forwards, digests,
bounces, damaged boundaries, eight charsets, inline pictures, HTML-only. The bytes are
written by hand (not by a mail library) where the point is a mistake a real mail program
makes. The files are committed; this script documents how they were made.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

HERE = Path(__file__).parent
PNG = base64.b64encode(
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def head(subject: str, sender: str = "Dana Whitfield <liaison@ssa.example.gov>", **extra) -> str:
    lines = [
        f"From: {sender}",
        "To: casework@office.example",
        f"Subject: {subject}",
        "Date: Tue, 10 Nov 2026 09:15:00 -0500",
        f"Message-ID: <{hashlib.sha1(subject.encode()).hexdigest()[:16]}@corpus.example>",
        "MIME-Version: 1.0",
    ]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
    return "\r\n".join(lines) + "\r\n"


def write(name: str, data: str | bytes) -> None:
    raw = data.encode("ascii") if isinstance(data, str) else data
    (HERE / f"own-{name}.eml").write_bytes(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def plain_in(charset: str, subject: str, text: str, cte: str = "8bit") -> bytes:
    body = text.encode(charset)
    if cte == "base64":
        body = base64.encodebytes(body)
    return (
        head(subject, Content_Type=f"text/plain; charset={charset}", Content_Transfer_Encoding=cte)
        + "\n"
    ).encode() + body


def main() -> None:
    write(
        "agency-reply-plain",
        head("RE: Congressional inquiry for Harold Mbeki", Content_Type="text/plain")
        + "\nDear Representative Avery,\n\nThe survivor benefit for Harold Mbeki was "
        "reinstated on November 9. Retroactive payment follows within ten business days.\n\n"
        "Dana Whitfield\nCongressional Liaison, Social Security Administration\n",
    )
    write(
        "html-only",
        head("Passport status update", "Passport Agency <liaison@passports.example.gov>")
        + 'Content-Type: text/html; charset="utf-8"\n\n'
        "<html><head><style>p{color:red}</style><title>ignored title</title></head><body>"
        "<p>The expedited passport for <b>Teodora Lindqvist</b> was approved &amp; mailed.</p>"
        "<table><tr><td>Tracking</td><td>9400111899223</td></tr></table>"
        "<script>alert('never run')</script><p>Questions? Reply to this message.</p></body></html>\n",
    )
    write(
        "alternative",
        head(
            "Veterans claim decision",
            "VA Liaison <liaison@va.example.gov>",
            Content_Type='multipart/alternative; boundary="alt"',
        )
        + "\n--alt\nContent-Type: text/plain; charset=utf-8\n\n"
        "The disability claim for Marcus Oyelaran received a decision of seventy percent.\n"
        "--alt\nContent-Type: text/html; charset=utf-8\n\n"
        "<p>The disability claim for <b>Marcus Oyelaran</b> received a decision of "
        "seventy percent.</p>\n--alt--\n",
    )
    write(
        "five-text-parts",
        head("Five notes on the housing file", Content_Type='multipart/mixed; boundary="mix"')
        + "\n--mix\nContent-Type: text/plain\n\nFirst note: inspection scheduled Wednesday.\n"
        "--mix\nContent-Type: text/plain\n\nSecond note: landlord Quimby acknowledged repairs.\n"
        "--mix\nContent-Type: application/pdf; name=notice.pdf\nContent-Transfer-Encoding: "
        "base64\nContent-Disposition: attachment; filename=notice.pdf\n\n" + PDF.decode() + "\n"
        "--mix\nContent-Type: text/plain\n\nThird note: heating restored Thursday evening.\n"
        "--mix\nContent-Type: text/html\n\n<p>Fourth note: <i>tenant</i> satisfied.</p>\n"
        "--mix\nContent-Type: text/plain\n\nFifth note: file closed pending photographs.\n"
        "--mix--\n",
    )
    write(
        "inline-picture",
        head(
            "Photo of the damaged mailbox",
            "Postmaster <liaison@usps.example.gov>",
            Content_Type='multipart/related; boundary="rel"',
        )
        + "\n--rel\nContent-Type: text/plain\n\nText before the photograph: carrier Abernathy "
        "reported the mailbox.\n--rel\nContent-Type: image/png; name=mailbox.png\n"
        "Content-ID: <mailbox@usps>\nContent-Disposition: inline; filename=mailbox.png\n"
        "Content-Transfer-Encoding: base64\n\n" + PNG.decode() + "\n--rel\nContent-Type: "
        "text/plain\n\nText after the photograph: replacement installed Friday.\n--rel--\n",
    )
    forwarded = (
        "From: Regional Office <region4@hud.example.gov>\nTo: liaison@hud.example.gov\n"
        "Subject: Section 8 voucher for Priya Castellano\nDate: Mon, 9 Nov 2026 14:02:00 -0500\n"
        "Content-Type: text/plain\n\nThe voucher for Priya Castellano was reissued; "
        "inspection booked.\n"
    )
    write(
        "forward",
        head(
            "Fwd: Section 8 voucher",
            "HUD Liaison <liaison@hud.example.gov>",
            Content_Type='multipart/mixed; boundary="fwd"',
        )
        + "\n--fwd\nContent-Type: text/plain\n\nForwarding the regional answer below.\n"
        "--fwd\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n"
        + forwarded
        + "--fwd--\n",
    )
    write(
        "forward-groupwise",
        head(
            "Fwd: Medicaid redetermination",
            "County Liaison <liaison@county.example.gov>",
            Content_Type='multipart/mixed; boundary="GW"',
        )
        + "\n--GW\nContent-Type: text/plain\n\n>>> forwarded by GroupWise\n"
        "--GW\nContent-Type: message/rfc822\nContent-Disposition: attachment; "
        "filename=Mail.eml\n\nFrom: Eligibility Unit <elig@county.example.gov>\nSubject: "
        "Redetermination for Wendell Achebe\nDate: Sun, 8 Nov 2026 10:00:00 -0500\n"
        'Content-Type: multipart/alternative; boundary="in"\n\n--in\nContent-Type: '
        "text/plain\n\nCoverage for Wendell Achebe continues through December.\n--in\n"
        "Content-Type: text/html\n\n<p>Coverage for Wendell Achebe continues through "
        "December.</p>\n--in--\n--GW--\n",
    )
    digest_items = "".join(
        f"--dig\n\nFrom: desk{n}@agency.example.gov\nSubject: Digest item {n}\n\n"
        f"Digest entry {word} about caseload item number {n}.\n"
        for n, word in ((1, "Zanzibar"), (2, "Quetzal"), (3, "Ptarmigan"))
    )
    write(
        "digest",
        head(
            "Agency liaison digest, Vol 3",
            "Digest <digest@agency.example.gov>",
            Content_Type='multipart/digest; boundary="dig"',
        )
        + "\n"
        + digest_items
        + "--dig--\n",
    )
    write(
        "bounce",
        head(
            "Undelivered Mail Returned to Sender",
            "Mail Delivery System <MAILER-DAEMON@office.example>",
            Content_Type='multipart/report; report-type=delivery-status; boundary="rpt"',
        )
        + "\n--rpt\nContent-Type: text/plain\n\nThe message to liaison@closed.example.gov "
        "could not be delivered: mailbox unavailable.\n--rpt\nContent-Type: "
        "message/delivery-status\n\nReporting-MTA: dns; office.example\n\nFinal-Recipient: "
        "rfc822; liaison@closed.example.gov\nAction: failed\nStatus: 5.1.1\n--rpt\n"
        "Content-Type: message/rfc822\n\nFrom: casework@office.example\nTo: "
        "liaison@closed.example.gov\nSubject: Inquiry about Ingrid Halvorsen\n\nPlease "
        "review the pension of Ingrid Halvorsen.\n--rpt--\n",
    )
    write(
        "boundary-missing",
        head("Lost boundary reply", Content_Type="multipart/mixed")
        + "\n--zz\nContent-Type: text/plain\n\nThe boundary parameter vanished, yet the "
        "Ombudsman Fairweather answered.\n--zz\nContent-Type: text/plain\n\nSecond part "
        "survives too.\n--zz--\n",
    )
    write(
        "boundary-wrong",
        head("Wrong boundary reply", Content_Type='multipart/mixed; boundary="declared"')
        + "\n--actual\nContent-Type: text/plain\n\nThe header names another boundary; "
        "Inspector Delacroix confirmed the repair.\n--actual\nContent-Type: text/plain\n\n"
        "Closing paragraph with gratitude.\n--actual--\n",
    )
    write(
        "boundary-never-closed",
        head("Unclosed reply", Content_Type='multipart/mixed; boundary="open"')
        + "\n--open\nContent-Type: text/plain\n\nThe closing boundary never comes but the "
        "letter from Commissioner Okonkwo is whole.\n",
    )
    write(
        "bad-base64",
        head(
            "Damaged encoding",
            Content_Type="text/plain; charset=utf-8",
            Content_Transfer_Encoding="base64",
        )
        + "\n"
        + base64.b64encode(b"Benefits for Rosalind Ferreira resume in December.").decode()[:-3]
        + "!!\n",
    )
    write(
        "latin1-0x92",
        plain_in(
            "latin-1",
            "Apostrophe test",
            "The agency\x92s answer for Beatrix O\x92Shaughnessy: approved.",
        ).replace(b"charset=latin-1", b"charset=iso-8859-1"),
    )
    write(
        "charset-unknown",
        plain_in("utf-8", "Unknown label", "Résumé for Anaïs Delacroix-Müller attached.").replace(
            b"charset=utf-8", b"charset=x-unheard-of"
        ),
    )
    samples = [
        ("utf-8", "utf8-spanish", "Respuesta: la solicitud de Graciela Núñez fue aprobada."),
        ("windows-1252", "cp1252", "Décision finale “favorable” pour Étienne Lefèvre — merci."),
        ("iso-8859-2", "latin2-polish", "Wniosek Zofii Wójcik został rozpatrzony pozytywnie."),
        ("koi8-r", "koi8r-russian", "Пенсия Ивана Петрова восстановлена с ноября."),
        ("windows-1251", "cp1251-ukrainian", "Виплату для Олени Шевченко поновлено."),
        ("shift_jis", "sjis-japanese", "山田花子様の申請は承認されました。"),
        ("gb2312", "gb2312-chinese", "王小明的申请已经批准。"),
        ("euc-kr", "euckr-korean", "김민수 님의 신청이 승인되었습니다."),
        ("big5", "big5-chinese", "陳大文的申請已獲批准。"),
    ]
    for charset, name, text in samples:
        write(name, plain_in(charset, f"Charset sample {name}", text, cte="base64"))
    write(
        "quoted-printable",
        head(
            "Quoted printable reply",
            Content_Type="text/plain; charset=utf-8",
            Content_Transfer_Encoding="quoted-printable",
        )
        + "\nThe claim for Jos=C3=A9 Ram=C3=ADrez was approved; payment =E2=82=AC\n"
        "follows in a soft=\nwrapped line.\n",
    )
    write(
        "attachments",
        head("Documents enclosed", Content_Type='multipart/mixed; boundary="docs"')
        + "\n--docs\nContent-Type: text/plain\n\nEnclosed: the determination letter for "
        "Cornelius Vantreight.\n--docs\nContent-Type: application/pdf\nContent-Disposition: "
        "attachment; filename=determination.pdf\nContent-Transfer-Encoding: base64\n\n"
        + PDF.decode()
        + "\n--docs\nContent-Type: text/html\nContent-Disposition: attachment; "
        "filename=page.html\n\n<script>alert(1)</script>\n--docs--\n",
    )

    # Tags that must never file a message here: case C-1001 exists in the tests' office.
    for name, tag in (
        ("tag-another-office", "[PA07 C-1001 K7QXA]"),
        ("tag-forged-check", "[NY21 C-1001 AAAAA]"),
        ("tag-old-style", "[Case #1001]"),
    ):
        write(
            name,
            head(f"RE: Congressional inquiry {tag}", Content_Type="text/plain")
            + f"\nReply about case {tag}: the benefit for Octavia Pemberton-Sloane resumes.\n",
        )


if __name__ == "__main__":
    main()
