"""What the HTTP server refuses before the application sees a request (too long, too large,
malformed) it answers in JSON with the right status, from a real Daphne server."""

import json
import socket

import pytest

from integr8scode.server_errors import BAD_REQUEST, HEADERS_TOO_LARGE, URI_TOO_LONG

LIMIT = 16384  # Twisted's, for the request line and headers together


def exchange(server, request: bytes) -> tuple[int, str, dict]:
    """Send ``request`` as it is; the status, Content-Type and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), json.loads(body)


def get(path: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]).encode("latin-1")


@pytest.mark.parametrize("length", [LIMIT + 100, 3 * LIMIT])
def test_a_request_line_over_the_limit_is_a_json_414(daphne_server, length):
    status, content_type, body = exchange(daphne_server, get("/api/v1/executions/" + "a" * length))

    assert (status, content_type) == (414, "application/json")
    assert body == {"detail": URI_TOO_LONG.format(limit=LIMIT)}


@pytest.mark.parametrize(
    "headers",
    [
        ["X-Big: " + "b" * (LIMIT + 100)],  # one line over the limit
        [f"X-Part-{i}: " + "b" * 1000 for i in range(20)],  # together over it
        [f"X-Many-{i}: 1" for i in range(600)],  # more fields than allowed
    ],
    ids=["one-long-line", "many-lines", "too-many-fields"],
)
def test_headers_over_the_limit_are_a_json_431(daphne_server, headers):
    status, content_type, body = exchange(daphne_server, get("/api/v1/runtimes", *headers))

    assert (status, content_type) == (431, "application/json")
    assert body == {"detail": HEADERS_TOO_LARGE.format(limit=LIMIT, count=500)}


def test_a_malformed_header_is_a_json_400(daphne_server):
    status, content_type, body = exchange(daphne_server, get("/api/v1/runtimes", "no colon here"))

    assert (status, content_type, body) == (400, "application/json", {"detail": BAD_REQUEST})


def test_a_path_that_is_not_ascii_is_a_json_400(daphne_server):
    status, content_type, body = exchange(daphne_server, get("/api/v1/executions/\xff"))

    assert (status, content_type) == (400, "application/json") and body["detail"]


def test_a_long_path_within_the_limit_reaches_the_application(daphne_server):
    status, content_type, body = exchange(daphne_server, get("/api/v1/executions/" + "a" * 8000, "Connection: close"))

    assert status == 404 and content_type.startswith("application/json") and "No execution" in body["detail"]
