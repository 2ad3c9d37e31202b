"""The mailer of a server without EMAIL_HOST: each message printed on the server's output as a
person reads it. Django's console backend prints the raw message, whose text is quoted-printable
as soon as it holds one character beyond ASCII, and a long line is then cut with "=" in the
middle of a verification link; here the text parts are printed decoded, so every link is one
line that a terminal can open."""

from django.core.mail.backends.console import EmailBackend

HEADERS = ("From", "To", "Cc", "Subject", "Date")


class ReadableEmailBackend(EmailBackend):
    def write_message(self, message) -> None:
        mime = message.message()
        lines = [f"{name}: {mime[name]}" for name in HEADERS if mime[name]]
        for part in mime.walk():
            if part.get_content_type() == "text/plain" and not part.is_attachment():
                lines += ["", part.get_content().rstrip("\n")]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.write("-" * 79 + "\n")
