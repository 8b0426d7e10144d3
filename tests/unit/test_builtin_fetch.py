"""http_fetch: reads allowed pages, and never reaches a private address it was not allowed."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from langchain_core.tools import BaseTool, ToolException

from mcp_tools.builtin import netguard
from mcp_tools.builtin.fetch import fetch_tools, read_capped
from mcp_tools.builtin.netguard import AddressPolicy

PAGE = (
    b"<html><head><title>Test page</title><script>var hidden = 1;</script>"
    b"<style>p {color: red}</style></head><body><h1>Hello</h1>"
    b"<p>Fish &amp; chips</p><ul><li>one</li><li>two</li></ul></body></html>"
)


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]]

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Host", "")))
        url = urlparse(self.path)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.end_headers()
            return
        content_type, body, extra = self.route(url.path)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def route(self, path: str) -> tuple[str, bytes, dict[str, str]]:
        if path == "/big":
            return "text/plain", b"z" * 1_000_000, {}
        if path == "/bomb":
            return "text/plain", gzip.compress(b"a" * 5_000_000), {"Content-Encoding": "gzip"}
        if path == "/image":
            return "image/png", b"\x89PNG\r\n\x1a\n" + bytes(500), {}
        if path == "/json":
            return "application/json", b'{"ok": true}', {}
        return "text/html; charset=utf-8", PAGE, {}

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def make_fetch(allow: list[str], max_bytes: int = 200_000, budget: int = 16000) -> BaseTool:
    (tool,) = fetch_tools(AddressPolicy.from_allow_list(allow), max_bytes, budget)
    return tool


async def test_allow_listed_local_page_is_fetched_as_text(base: str) -> None:
    result = await make_fetch(["127.0.0.1"]).ainvoke({"url": base + "/page"})
    assert "Status: 200 OK" in result
    assert "Content-Type: text/html; charset=utf-8" in result
    assert "Title: Test page" in result
    assert "Hello\n\nFish & chips" in result
    assert "- one" in result and "- two" in result
    assert "hidden" not in result and "color" not in result


async def test_allow_list_by_cidr_and_json(base: str) -> None:
    result = await make_fetch(["127.0.0.0/8"]).ainvoke({"url": base + "/json"})
    assert result.endswith('{"ok": true}')


async def test_binary_content_is_not_shown(base: str) -> None:
    result = await make_fetch(["127.0.0.1"]).ainvoke({"url": base + "/image"})
    assert "binary content, 508 bytes" in result
    assert "PNG" not in result


async def test_download_stops_at_max_bytes(base: str) -> None:
    result = await make_fetch(["127.0.0.1"], max_bytes=2048).ainvoke({"url": base + "/big"})
    assert "stopped at the 2048-byte limit" in result
    assert result.count("z") == 2048


async def test_compressed_body_is_capped_after_decompression(base: str) -> None:
    result = await make_fetch(["127.0.0.1"], max_bytes=4096).ainvoke({"url": base + "/bomb"})
    assert "stopped at the 4096-byte limit" in result
    assert result.split("\n\n", 1)[1] == "a" * 4096


class BombResponse:
    """A response whose one raw chunk (about 50 KB) inflates to 50 MB."""

    def __init__(self) -> None:
        self.headers = {"content-encoding": "gzip"}
        self.chunk = gzip.compress(b"a" * 50_000_000)

    async def aiter_raw(self):
        yield self.chunk


async def test_decompression_itself_is_bounded() -> None:
    response = BombResponse()
    tracemalloc.start()
    try:
        body, cut = await read_capped(response, 4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (body, cut) == (b"a" * 4096, True)
    assert peak < 5_000_000


async def test_max_chars_limits_the_answer(base: str) -> None:
    fetch = make_fetch(["127.0.0.1"], budget=16000)
    result = await fetch.ainvoke({"url": base + "/big", "max_chars": 500})
    assert len(result) <= 500
    assert "output cut" in result


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0.0.0.0", "127.1"],
)
async def test_loopback_is_refused_without_allow_list(server, host: str) -> None:
    url = f"http://{host}:{server.server_address[1]}/page"
    with pytest.raises(ToolException, match="refused"):
        await make_fetch([]).ainvoke({"url": url})
    assert server.seen == []


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/latest/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://100.64.0.1/", "not publicly routable"),
    ],
)
async def test_private_and_special_addresses_are_refused(url: str, kind: str) -> None:
    with pytest.raises(ToolException, match=rf"refused.*{kind}"):
        await make_fetch(["127.0.0.1"]).ainvoke({"url": url})


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "nope"])
async def test_only_http_and_https(url: str) -> None:
    with pytest.raises(ToolException, match=r"http:// or https://|not a valid URL"):
        await make_fetch([]).ainvoke({"url": url})


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:{port}/page"],
)
async def test_redirect_to_a_forbidden_address_is_refused(server, base: str, target: str) -> None:
    target = target.format(port=server.server_address[1])
    with pytest.raises(ToolException, match="refused"):
        await make_fetch(["127.0.0.1"]).ainvoke({"url": f"{base}/redirect?to={target}"})
    assert [path for path, _ in server.seen] == [f"/redirect?to={target}"]


async def test_redirect_to_another_scheme_is_refused(base: str) -> None:
    with pytest.raises(ToolException, match="http:// or https://"):
        await make_fetch(["127.0.0.1"]).ainvoke({"url": f"{base}/redirect?to=file:///etc/passwd"})


async def test_allowed_redirect_is_followed(base: str) -> None:
    result = await make_fetch(["127.0.0.1"]).ainvoke({"url": f"{base}/redirect?to=/json"})
    assert f"URL: {base}/json" in result
    assert result.endswith('{"ok": true}')


async def test_endless_redirects_stop(server, base: str, monkeypatch) -> None:
    def always_redirect(self) -> None:
        self.server.seen.append((self.path, ""))
        self.send_response(302)
        self.send_header("Location", "/again")
        self.end_headers()

    monkeypatch.setattr(Handler, "do_GET", always_redirect)
    with pytest.raises(ToolException, match=r"redirected more than 5 times"):
        await make_fetch(["127.0.0.1"]).ainvoke({"url": base + "/start"})
    assert len(server.seen) == 6


async def test_connects_to_the_address_it_checked(server, monkeypatch) -> None:
    """A name that resolved to an allowed address is fetched from exactly that address."""
    port = server.server_address[1]

    async def fake_resolve(host: str, port: int) -> list:
        assert host == "rebind.test"
        return [netguard.ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(netguard, "resolve", fake_resolve)
    result = await make_fetch(["127.0.0.1/32"]).ainvoke({"url": f"http://rebind.test:{port}/json"})
    assert result.endswith('{"ok": true}')
    assert server.seen == [("/json", f"rebind.test:{port}")]


async def test_name_resolving_to_loopback_is_refused(server, monkeypatch) -> None:
    async def fake_resolve(host: str, port: int) -> list:
        return [netguard.ipaddress.ip_address(a) for a in ("93.184.216.34", "127.0.0.1")]

    monkeypatch.setattr(netguard, "resolve", fake_resolve)
    with pytest.raises(ToolException, match=r"resolves to 127.0.0.1, a loopback"):
        await make_fetch([]).ainvoke({"url": f"http://evil.test:{server.server_address[1]}/"})
    assert server.seen == []


async def test_allow_listed_host_name(server) -> None:
    url = f"http://localhost:{server.server_address[1]}/json"
    result = await make_fetch(["LOCALHOST"]).ainvoke({"url": url})
    assert result.endswith('{"ok": true}')


async def test_unresolvable_host_is_an_error(monkeypatch) -> None:
    async def no_dns(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_dns)
    with pytest.raises(ToolException, match=r"could not resolve the host name 'no-such.test'"):
        await make_fetch([]).ainvoke({"url": "http://no-such.test/"})
