"""The `http_fetch` group: GET a public web page and return it as text.

Every hop is checked by `netguard` and then connected to *the address that was checked*
(URL rewritten to the IP, original Host header and TLS SNI kept), so a DNS answer that
changes between check and connect cannot reach a forbidden address. Redirects are
followed by hand for the same reason.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from .htmltext import html_to_text
from .netguard import AddressPolicy, IPAddress, permitted_addresses
from .textio import clip, looks_binary

MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
HEADERS = {"User-Agent": "oss-agent-http-fetch/0.1", "Accept-Encoding": "gzip, deflate"}
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml",
              "application/javascript", "+json", "+xml")  # fmt: skip


@dataclass
class Page:
    """A final (non-redirect) response, its body already capped."""

    url: httpx.URL
    status: str
    content_type: str
    body: bytes
    cut: bool
    charset: str | None


def parse_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, TypeError):
        raise ToolException(f"'{text}' is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ToolException(f"'{text}' is not an http:// or https:// URL with a host name")
    return url


class HttpFetchArgs(BaseModel):
    url: str = Field(description="Full http:// or https:// address, e.g. 'https://example.com/'.")
    max_chars: int | None = Field(
        None, ge=200, description="Most characters of page text to return; default is the maximum."
    )


class Fetcher:
    """GETs a URL hop by hop under an `AddressPolicy`, reading at most `max_bytes`."""

    def __init__(self, policy: AddressPolicy, max_bytes: int) -> None:
        self.policy = policy
        self.max_bytes = max_bytes

    async def fetch(self, text: str) -> Page:
        url = parse_url(text)
        for _ in range(MAX_REDIRECTS + 1):
            # A fresh client per hop: a pooled TLS connection to the same IP would carry
            # the previous hop's SNI name. trust_env=False: no proxy may change the target.
            async with httpx.AsyncClient(trust_env=False, timeout=TIMEOUT) as client:
                try:
                    outcome = await self._hop(client, url)
                except httpx.HTTPError as error:
                    raise ToolException(f"fetching {text} failed: {error!r}") from None
            if isinstance(outcome, Page):
                return outcome
            url = outcome
        raise ToolException(f"{text} redirected more than {MAX_REDIRECTS} times; giving up")

    async def _hop(self, client: httpx.AsyncClient, url: httpx.URL) -> Page | httpx.URL:
        """One request: the page, or the checked URL a redirect points to."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await permitted_addresses(self.policy, host, port)
        response = await self._connect(client, url, host, addresses)
        try:
            if response.is_redirect:
                return parse_url(urljoin(str(url), response.headers["location"]))
            body, cut = await read_capped(response, self.max_bytes)
        finally:
            await response.aclose()
        status = f"{response.status_code} {response.reason_phrase}".strip()
        content_type = response.headers.get("content-type", "")
        return Page(url, status, content_type, body, cut, response.charset_encoding)

    async def _connect(
        self, client: httpx.AsyncClient, url: httpx.URL, host: str, addresses: list[IPAddress]
    ) -> httpx.Response:
        headers = {**HEADERS, "Host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        failure: Exception | None = None
        for ip in addresses:
            request = client.build_request(
                "GET", url.copy_with(host=str(ip)), headers=headers, extensions=extensions
            )
            try:
                return await client.send(request, stream=True)
            except httpx.ConnectError as error:
                failure = error
        raise ToolException(f"could not connect to {host}: {failure}")


async def read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The body, decompressed by us so a small gzip bomb cannot outgrow `max_bytes`."""
    inflate = _decompressor(response.headers.get("content-encoding", "").strip().lower())
    body = bytearray()
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        room = max_bytes - len(body)
        try:
            body += inflate.decompress(chunk, room) if inflate else chunk[:room]
        except zlib.error:
            raise ToolException("the server sent corrupt compressed content") from None
        if len(body) >= max_bytes or received >= max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False


def _decompressor(encoding: str) -> zlib._Decompress | None:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise ToolException(f"the server sent content encoded as '{encoding}', which is unsupported")


def render(page: Page, max_chars: int) -> str:
    """Status, content type and the body as text, within `max_chars`."""
    shown_url = page.url.copy_with(username=None, password=None)
    lines = [f"URL: {shown_url}", f"Status: {page.status}"]
    lines.append(f"Content-Type: {page.content_type or 'not given'}")
    if page.cut:
        lines.append(f"Note: the download stopped at the {len(page.body)}-byte limit.")
    return clip("\n".join(lines) + "\n\n" + _body_text(page), max_chars)


def mime_type(page: Page) -> str:
    """The page's media type without parameters, lower case ('' when not given)."""
    return page.content_type.split(";")[0].strip().lower()


def decoded_body(page: Page) -> str | None:
    """The body as text in its declared charset (UTF-8 by default), or None when binary."""
    mime = mime_type(page)
    textual = mime.startswith(TEXT_TYPES) or mime.endswith(TEXT_TYPES)
    if (mime and not textual) or (not mime and looks_binary(page.body[:8192])):
        return None
    try:
        return page.body.decode(page.charset or "utf-8", errors="replace")
    except LookupError:
        return page.body.decode("utf-8", errors="replace")


def _body_text(page: Page) -> str:
    text = decoded_body(page)
    if text is None:
        return f"(binary content, {len(page.body)} bytes; not shown)"
    return html_to_text(text) if "html" in mime_type(page) else text


def fetch_tools(policy: AddressPolicy, max_bytes: int, budget: int) -> list[BaseTool]:
    """The http_fetch tool."""
    fetcher = Fetcher(policy, max_bytes)

    async def http_fetch(url: str, max_chars: int | None = None) -> str:
        page = await fetcher.fetch(url)
        return render(page, min(max_chars or budget, budget))

    return [
        StructuredTool.from_function(
            coroutine=http_fetch,
            name="http_fetch",
            description="Download a web page or text file by URL (GET) and return its HTTP "
            "status, content type and text; HTML is reduced to readable text. Use it to read a "
            "specific URL; it cannot search the web. Only public addresses are reachable.",
            args_schema=HttpFetchArgs,
        )
    ]
