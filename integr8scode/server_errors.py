"""Requests the HTTP server refuses itself, before the application sees them, answered in JSON
``{"detail": ...}`` like every other error of the API (:mod:`integr8scode.serve` installs this).

What Daphne and Twisted do on their own: Twisted's HTTP channel takes at most 16 KiB for the
request line and the headers together, 16 KiB for any one line and 500 header fields. Past the
total or the count it answered a bare ``400 Bad Request`` without a body; a single line over
16 KiB made it close the connection without answering at all. Daphne answers a header it
cannot parse, or a path or query that is not ASCII, with an HTML 400 page. Here a request line
that is too long gets 414, headers that are too large or too many get 431, and the rest of
these a JSON 400. Each closes the connection, as before. A client that is still sending
when the connection closes (megabytes of headers) may see the connection reset before it
reads the answer: that is TCP, and no server can answer it better without reading everything.
"""

import json

from daphne import http_protocol
from twisted.web import http

URI_TOO_LONG = "The request line is longer than this server accepts ({limit} bytes)."
HEADERS_TOO_LARGE = "The request's headers are more than this server accepts ({limit} bytes, {count} fields)."
BAD_REQUEST = "The request is not valid HTTP."
RESPONSE_HEAD = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"


class Channel(http.HTTPChannel):
    """Twisted's channel, with its refusals in JSON and with the right status."""

    def lineReceived(self, line):
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            return self._too_large()
        return super().lineReceived(line)

    def lineLengthExceeded(self, line):
        return self._too_large()

    def headerReceived(self, line):
        if self._receivedHeaderCount >= self.maxHeaders:
            self._too_large()
            return False
        return super().headerReceived(line)

    def _respondToBadRequestAndDisconnect(self):
        self._refuse(400, b"Bad Request", BAD_REQUEST)

    def _too_large(self) -> None:
        # Nothing of this request counted yet: its first line is what is too long.
        if self._receivedHeaderSize == 0:
            self._refuse(414, b"URI Too Long", URI_TOO_LONG.format(limit=self.totalHeadersSize))
        else:
            self._refuse(
                431,
                b"Request Header Fields Too Large",
                HEADERS_TOO_LARGE.format(limit=self.totalHeadersSize, count=self.maxHeaders),
            )

    def _refuse(self, status: int, reason: bytes, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        self.transport.write(RESPONSE_HEAD % (status, reason, len(body)) + body)
        self.loseConnection()


class Request(http_protocol.WebRequest):
    """Daphne's request, with its own error answers (bad header names, a non-ASCII path) in JSON."""

    def basic_error(self, status, status_text, body):
        content = json.dumps({"detail": body}).encode()
        headers = [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(content)).encode())]
        self.handle_reply({"type": "http.response.start", "status": status, "headers": headers})
        self.handle_reply({"type": "http.response.body", "body": content})


class HTTPFactory(http_protocol.HTTPFactory):
    def protocol(self):
        return http._GenericHTTPChannelProtocol(Channel())

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = Request
        return protocol
