"""The mailer without EMAIL_HOST prints messages readably: a verification link is one line."""

import io

from django.core.mail import EmailMessage

from accounts.console_email import ReadableEmailBackend

LINK = "http://127.0.0.1:8000/accounts/confirm-email/MQ:1vQZ1x:" + "abcdefghijklmnopqrstuvwxyz0123456789" * 3 + "/"


def test_a_verification_link_is_printed_on_one_line():
    stream = io.StringIO()
    message = EmailMessage("Confirm your address", f"Hello — please confirm:\n\n{LINK}\n", "a@localhost", ["b@x.org"])
    ReadableEmailBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert LINK in printed.splitlines()
    assert "Hello — please confirm:" in printed and "Subject: Confirm your address" in printed
    assert "quoted-printable" not in printed and "=\n" not in printed
