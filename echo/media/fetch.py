"""Safe image fetching: http(s) only, vetted and pinned addresses, byte and time caps, manual redirects.

Every connection goes through `VettingBackend`: it resolves the host once itself, refuses the whole host
if any address is private, loopback, link-local, multicast, reserved, unspecified or a cloud-metadata
address (also when embedded in IPv4-mapped, 6to4, Teredo or NAT64 IPv6 forms), and connects to the
vetted IP. TLS still verifies the original host name. Redirects are followed by hand, and each hop
connects through the same backend, so a redirect or a DNS answer that changes between lookups cannot
reach an internal address.

URLs under a `config.media.url_map` prefix are read from their mapped folder (path traversal refused);
nothing else ever reads local files.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import mimetypes
import socket
import ssl
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx

USER_AGENT = "echo-bench-media/0.1 (+https://github.com/echo-bench)"
MAX_REDIRECTS = 5
METADATA_IPS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class FetchError(Exception):
    """A download that failed. `reason` is a short stable code stored in media.error (before the ':')."""

    def __init__(self, reason: str, detail: str = "", *, retryable: bool = False):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retryable = retryable


class BlockedAddress(FetchError):
    def __init__(self, detail: str):
        super().__init__("blocked_address", detail)


# --- address vetting ----------------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why an address may not be fetched from, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = address_refusal(str(inner), allow_loopback=allow_loopback)
            return f"{ip} embeds {why}" if why else None
    if ip in METADATA_IPS:
        return f"{ip} is a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    for flag in ("is_unspecified", "is_multicast", "is_link_local", "is_private", "is_reserved"):
        if getattr(ip, flag):
            return f"{ip} is {flag[3:].replace('_', '-')}"
    if not ip.is_global:
        return f"{ip} is not a global address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise FetchError("dns_error", f"{host}: {e}", retryable=True) from None
    return list(dict.fromkeys(info[4][0] for info in infos))


class VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves each host once, refuses unsafe addresses, and connects to the vetted IP (pinning)."""

    def __init__(self, *, allow_loopback: bool, resolver: Resolver | None = None):
        self.allow_loopback = allow_loopback
        self.resolver = resolver or system_resolver
        self._inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, str]] = []  # (host, ip) of every connection made: audits and tests

    async def vet(self, host: str, port: int) -> list[str]:
        addresses = await self.resolver(host, port)
        if not addresses:
            raise FetchError("dns_error", f"{host} has no address", retryable=True)
        for a in addresses:
            why = address_refusal(a, allow_loopback=self.allow_loopback)
            if why:
                raise BlockedAddress(f"{host} resolves to {why}")
        return addresses

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = await self.vet(host, port)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = await self._inner.connect_tcp(ip, port, timeout=timeout, local_address=local_address,
                                                       socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                last = e
                continue
            peer = stream.get_extra_info("server_addr")
            # Re-check what the socket actually reached, not only what we asked for.
            if peer and address_refusal(peer[0], allow_loopback=self.allow_loopback):
                await stream.aclose()
                raise BlockedAddress(f"{host} connected to {peer[0]}")
            self.connected.append((host, ip))
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise BlockedAddress("unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore's exceptions as httpx's, most specific first (what httpx's own transport raises for them).
_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError), (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError), (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError), (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError), (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as e:
        for core, mapped in _HTTPCORE_TO_HTTPX:
            if isinstance(e, core):
                raise mapped(str(e)) from e
        raise


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterable[bytes]):
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._chunks:
                yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore connection pool that connects only through a VettingBackend.

    Built from public extension points only (httpx's transport API, httpcore's `network_backend`), so no
    httpx release can bypass the vetting by renaming a private attribute. The pool connects to the vetted
    IP, while TLS (SNI and certificate check) uses the host name of the URL.
    """

    def __init__(self, backend: VettingBackend, *, max_connections: int = 16,
                 ssl_context: ssl.SSLContext | None = None):
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,  # carries httpx's timeouts to the pool
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseBody(response.stream), extensions=response.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()


# --- fetching -----------------------------------------------------------------------------------


@dataclass
class Fetched:
    url: str
    final_url: str
    data: bytes
    content_type: str | None
    redirects: int = 0
    local: bool = False


def check_url(url: str) -> urllib.parse.SplitResult:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise FetchError("bad_url", str(e)) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("bad_scheme", f"only http and https are fetched, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise FetchError("bad_url", "no host")
    if parts.username or parts.password:
        raise FetchError("bad_url", "credentials in URLs are refused")
    return parts


def mapped_path(url: str, url_map: Mapping[str, str | Path]) -> Path | None:
    """The local file a url_map prefix points at; None when no prefix matches. Refuses escapes."""
    for prefix, folder in url_map.items():
        if not url.startswith(prefix):
            continue
        rest = urllib.parse.unquote(urllib.parse.urlsplit(url[len(prefix):]).path)
        parts = [p for p in rest.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or "\x00" in rest:
            raise FetchError("path_traversal", f"{url!r} leaves the mapped folder")
        base = Path(folder).resolve()
        path = base.joinpath(*parts).resolve()
        if not path.is_relative_to(base):
            raise FetchError("path_traversal", f"{url!r} resolves outside {base}")
        return path
    return None


def read_mapped(url: str, path: Path, max_bytes: int) -> Fetched:
    if not path.is_file():
        raise FetchError("not_found", f"mapped file {path.name} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise FetchError("too_large", f"{size} bytes > max_bytes {max_bytes}")
    data = path.read_bytes()
    return Fetched(url=url, final_url=url, data=data, content_type=mimetypes.guess_type(path.name)[0], local=True)


def _retryable_status(code: int) -> bool:
    return code in (408, 425, 429) or code >= 500


async def fetch_http(client: httpx.AsyncClient, url: str, *, max_bytes: int) -> Fetched:
    """GET an image following redirects by hand (each hop re-checked); stops at max_bytes while streaming."""
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        check_url(current)
        try:
            async with client.stream("GET", current, headers={"User-Agent": USER_AGENT, "Accept": "image/*"}) as resp:
                if resp.is_redirect:
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError("bad_redirect", f"HTTP {resp.status_code} without Location")
                    current = urllib.parse.urljoin(current, location)
                    continue
                if resp.status_code != 200:
                    raise FetchError(f"http_{resp.status_code}", current, retryable=_retryable_status(resp.status_code))
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError("too_large", f"Content-Length {declared} > max_bytes {max_bytes}")
                ctype = resp.headers.get("content-type")
                if ctype and not _acceptable_content_type(ctype):
                    raise FetchError("bad_content_type", f"{ctype.split(';')[0]} is not an image type")
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.aiter_raw():
                    total += len(chunk)
                    if total > max_bytes:
                        raise FetchError("too_large", f"body exceeds max_bytes {max_bytes}")
                    chunks.append(chunk)
                return Fetched(url=url, final_url=current, data=b"".join(chunks), content_type=ctype, redirects=hop)
        except FetchError:
            raise
        except httpx.TimeoutException as e:
            raise FetchError("timeout", type(e).__name__, retryable=True) from None
        except httpx.TransportError as e:
            raise FetchError("connect_error", f"{type(e).__name__}: {e}", retryable=True) from None
    raise FetchError("too_many_redirects", f"more than {MAX_REDIRECTS}")


def _acceptable_content_type(ctype: str) -> bool:
    main = ctype.split(";", 1)[0].strip().lower()
    # Some CDNs serve images as octet-stream; the decoded format is checked afterwards either way.
    return main.startswith("image/") or main in ("application/octet-stream", "binary/octet-stream", "")


class Fetcher:
    """Downloads with a concurrency bound, retries with backoff for transient failures, a total time cap.

    ssl_context: the certificates https is checked against (default: certifi's CA bundle; tests pass a
    context that trusts their own self-signed certificate).
    """

    def __init__(self, *, max_bytes: int, timeout_s: float, concurrency: int = 8, max_retries: int = 3,
                 allow_loopback: bool = False, url_map: Mapping[str, str | Path] | None = None,
                 resolver: Resolver | None = None, backoff_s: float = 0.5,
                 ssl_context: ssl.SSLContext | None = None):
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.url_map = dict(url_map or {})
        self.backoff_s = backoff_s
        self.backend = VettingBackend(allow_loopback=allow_loopback, resolver=resolver)
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._client = httpx.AsyncClient(
            transport=PinnedTransport(self.backend, max_connections=max(1, concurrency), ssl_context=ssl_context),
            follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(timeout_s),
        )
        self.requests = 0

    @classmethod
    def from_config(cls, media_config, base_dir: Path | str = ".", **kw) -> Fetcher:
        url_map = {k: Path(base_dir) / v for k, v in media_config.url_map.items()}
        return cls(max_bytes=media_config.max_bytes, timeout_s=media_config.timeout_s,
                   concurrency=media_config.concurrency, max_retries=media_config.max_retries,
                   allow_loopback=media_config.allow_loopback, url_map=url_map, **kw)

    async def fetch_once(self, url: str) -> Fetched:
        path = mapped_path(url, self.url_map)
        if path is not None:
            return await asyncio.to_thread(read_mapped, url, path, self.max_bytes)
        check_url(url)
        self.requests += 1
        try:
            # One deadline for the whole download, redirects and slow drips included.
            async with asyncio.timeout(self.timeout_s):
                return await fetch_http(self._client, url, max_bytes=self.max_bytes)
        except TimeoutError:
            raise FetchError("timeout", f"no complete answer within {self.timeout_s:g}s", retryable=True) from None

    async def fetch(self, url: str) -> Fetched:
        """Fetch with up to max_retries extra attempts for retryable failures; raises the last FetchError."""
        async with self._semaphore:
            attempt = 0
            while True:
                try:
                    return await self.fetch_once(url)
                except FetchError as e:
                    if not e.retryable or attempt >= self.max_retries:
                        raise
                    await asyncio.sleep(self.backoff_s * (2 ** attempt))
                    attempt += 1

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
