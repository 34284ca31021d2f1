"""Media: safe fetching, validation, content-addressed storage and the media stage, against a local server."""

from __future__ import annotations

import asyncio
import http.server
import io
import os
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from echo import pipeline
from echo.media import fetch as mfetch
from echo.media.fetch import FetchError, Fetcher, address_refusal, mapped_path
from echo.media.store import media_bytes, media_path, phash_distance
from echo.media.validate import ValidationError, decode_image
from echo.stages import media as mstage
from echo.store import Store

# --- fixture images ------------------------------------------------------------------------------


def _picture(size=(64, 48), seed=0) -> Image.Image:
    img = Image.new("RGB", size, (20 + seed * 30, 120, 200))
    for x in range(0, size[0], 8):
        for y in range(0, size[1], 8):
            if (x + y + seed * 8) % 16 == 0:
                img.paste((240, 200 - seed * 20, 40), (x, y, x + 8, y + 8))
    return img


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _jpeg_rotated() -> bytes:
    """60x40 stored pixels with EXIF orientation 6 (rotate 90 clockwise): upright it is 40x60."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(_picture((60, 40), 1), "JPEG", exif=exif.tobytes(), quality=90)


def _png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header declares width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


PNG = _encode(_picture(seed=0), "PNG")
WEBP = _encode(_picture(seed=2), "WEBP", quality=90)
JPEG_ROT = _jpeg_rotated()
TRUNCATED = _encode(_picture((200, 200), 3), "JPEG", quality=95)[:700]
HTML = b"<!doctype html><html><body>not an image</body></html>"
BIG_TOTAL = 50 * 1024 * 1024


# --- the fixture server --------------------------------------------------------------------------


class ImageServer:
    """127.0.0.1 server with good images and hostile cases; counts requests and bytes sent per path."""

    def __init__(self):
        self.requests: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.flaky_failures = 1
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body=b"", ctype=None, headers=()):
                self.send_response(code)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path
                outer.requests[path] = outer.requests.get(path, 0) + 1
                routes = {
                    "/img/a.png": (PNG, "image/png"), "/img/same.png": (PNG, "image/png"),
                    "/img/rot.jpg": (JPEG_ROT, "image/jpeg"), "/img/c.webp": (WEBP, "image/webp"),
                    "/bomb.png": (_png_bomb(), "image/png"), "/truncated.jpg": (TRUNCATED, "image/jpeg"),
                    "/html-as-image.png": (HTML, "image/png"), "/page.html": (HTML, "text/html"),
                    "/png-as-jpeg.jpg": (PNG, "image/jpeg"),
                }
                if path in routes:
                    body, ctype = routes[path]
                    return self._send(200, body, ctype)
                redirects = {
                    "/redirect/ok": "/img/a.png",
                    "/redirect/private": "http://10.0.0.1/x.png",
                    "/redirect/metadata": "http://169.254.169.254/latest/meta-data/",
                    "/redirect/mapped-metadata": "http://[::ffff:169.254.169.254]/x.png",
                    "/redirect/unspecified": f"http://0.0.0.0:{outer.port}/img/a.png",
                    "/redirect/file": "file:///etc/passwd",
                    "/redirect/loop": "/redirect/loop",
                }
                if path in redirects:
                    return self._send(302, b"", None, [("Location", redirects[path])])
                if path == "/big":  # 50 MB, streamed without a Content-Length
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    chunk = PNG[:64] + b"\x00" * (65536 - 64)
                    try:
                        while outer.sent.get(path, 0) < BIG_TOTAL:
                            self.wfile.write(chunk)
                            outer.sent[path] = outer.sent.get(path, 0) + len(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if path == "/big-declared":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(BIG_TOTAL))
                    self.end_headers()
                    try:
                        self.wfile.write(PNG)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if path == "/slow":  # a valid PNG, one byte every 0.2 s
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(PNG)))
                    self.end_headers()
                    try:
                        for b in PNG:
                            self.wfile.write(bytes([b]))
                            self.wfile.flush()
                            time.sleep(0.2)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if path == "/flaky.png":  # 503 the first `flaky_failures` times
                    if outer.requests[path] <= outer.flaky_failures:
                        return self._send(503, b"busy", "text/plain")
                    return self._send(200, PNG, "image/png")
                if path == "/down.png":
                    return self._send(503, b"busy", "text/plain")
                return self._send(404, b"no", "text/plain")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def total_requests(self) -> int:
        return sum(self.requests.values())

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ImageServer()
    yield s
    s.close()


@pytest.fixture
def media_config(config):
    config.media.allow_loopback = True
    config.media.timeout_s = 1.5
    config.media.max_bytes = 1_000_000
    config.media.max_retries = 1
    config.media.concurrency = 4
    return config


def _fetch(url, **kw):
    async def go():
        opts = dict(max_bytes=1_000_000, timeout_s=1.5, max_retries=0, allow_loopback=True)
        opts.update(kw)
        async with Fetcher(**opts) as f:
            return await f.fetch(url), f
    return asyncio.run(go())


# --- address vetting -----------------------------------------------------------------------------


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "::1", "169.254.169.254", "169.254.1.1",
    "fd00:ec2::254", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "0.0.0.0", "::",
    "224.0.0.1", "233.252.0.1", "ff02::1", "100.64.0.1", "240.0.0.1", "255.255.255.255", "fe80::1",
    "2002:a00:1::1", "64:ff9b::a9fe:a9fe", "198.18.0.1",
])
def test_unsafe_addresses_are_refused(address):
    assert address_refusal(address) is not None


def test_public_addresses_pass_and_loopback_only_when_allowed():
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("::1", allow_loopback=True) is None
    # allowing loopback never opens private or metadata addresses
    assert address_refusal("10.0.0.1", allow_loopback=True) is not None
    assert address_refusal("169.254.169.254", allow_loopback=True) is not None


def test_connection_is_pinned_to_the_vetted_address(server):
    calls = []

    async def resolver(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    got, f = _fetch(f"http://images.test:{server.port}/img/a.png", resolver=resolver)
    assert got.data == PNG
    assert calls == ["images.test"]  # resolved once, by us; the socket went to that address
    assert f.backend.connected == [("images.test", "127.0.0.1")]


def test_host_with_any_unsafe_address_is_refused_before_connecting(server):
    async def resolver(host, port):
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(FetchError) as e:
        _fetch(f"http://rebind.test:{server.port}/img/a.png", resolver=resolver, allow_loopback=False)
    assert e.value.reason == "blocked_address" and "loopback" in str(e.value)
    assert server.total_requests() == 0


def test_loopback_refused_unless_allowed(server):
    with pytest.raises(FetchError) as e:
        _fetch(server.url("/img/a.png"), allow_loopback=False)
    assert e.value.reason == "blocked_address"
    assert server.total_requests() == 0


@pytest.mark.parametrize("path, reason", [
    ("/redirect/private", "blocked_address"),
    ("/redirect/metadata", "blocked_address"),
    ("/redirect/mapped-metadata", "blocked_address"),
    ("/redirect/unspecified", "blocked_address"),
    ("/redirect/file", "bad_scheme"),
    ("/redirect/loop", "too_many_redirects"),
])
def test_every_redirect_hop_is_checked(server, path, reason):
    with pytest.raises(FetchError) as e:
        _fetch(server.url(path))
    assert e.value.reason == reason


def test_redirect_to_a_safe_address_is_followed(server):
    got, _ = _fetch(server.url("/redirect/ok"))
    assert got.data == PNG and got.redirects == 1 and got.final_url.endswith("/img/a.png")


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/", "/relative.png",
                                 "http://user:pw@example.com/a.png", "data:image/png;base64,AAAA"])
def test_only_plain_http_and_https_urls(url):
    with pytest.raises(FetchError) as e:
        _fetch(url)
    assert e.value.reason in ("bad_scheme", "bad_url")


def test_body_is_capped_while_streaming(server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as e:
        _fetch(server.url("/big"))
    assert e.value.reason == "too_large"
    assert time.monotonic() - t0 < 10
    time.sleep(0.2)
    # the client stopped reading: the server could not push the 50 MB (only what socket buffers hold)
    assert server.sent.get("/big", 0) < 20 * 1024 * 1024
    with pytest.raises(FetchError) as e:
        _fetch(server.url("/big-declared"))
    assert e.value.reason == "too_large" and "Content-Length" in str(e.value)


def test_slow_drip_hits_the_total_time_cap(server):
    t0 = time.monotonic()
    with pytest.raises(FetchError) as e:
        _fetch(server.url("/slow"), timeout_s=1.0)
    elapsed = time.monotonic() - t0
    assert e.value.reason == "timeout" and e.value.retryable
    assert elapsed < 3.0  # each byte arrives within any per-read timeout; only the total cap stops it


def test_transient_errors_are_retried_within_a_run(server):
    got, f = _fetch(server.url("/flaky.png"), max_retries=2, backoff_s=0.01)
    assert got.data == PNG and server.requests["/flaky.png"] == 2
    with pytest.raises(FetchError) as e:
        _fetch(server.url("/img/missing.png"), max_retries=2, backoff_s=0.01)
    assert e.value.reason == "http_404" and not e.value.retryable
    assert server.requests["/img/missing.png"] == 1  # a final error is not retried


def test_url_map_reads_only_inside_its_folder(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "a.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("no")
    url_map = {"https://echo-samples.invalid/media/": str(folder) + "/"}
    assert mapped_path("https://echo-samples.invalid/media/a.png", url_map) == (folder / "a.png").resolve()
    assert mapped_path("https://elsewhere.example/a.png", url_map) is None
    for bad in ["../secret.txt", "%2e%2e/secret.txt", "sub/../../secret.txt", "..%2fsecret.txt", "%2fetc%2fpasswd/.."]:
        with pytest.raises(FetchError) as e:
            mapped_path("https://echo-samples.invalid/media/" + bad, url_map)
        assert e.value.reason == "path_traversal", bad
    (folder / "link.png").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(FetchError, match="path_traversal"):
        mapped_path("https://echo-samples.invalid/media/link.png", url_map)
    got, _ = _fetch("https://echo-samples.invalid/media/a.png", url_map=url_map, allow_loopback=False)
    assert got.data == PNG and got.local


# --- validation ----------------------------------------------------------------------------------


def test_decode_applies_exif_orientation_and_checks_format():
    d = decode_image(JPEG_ROT, max_pixels=10_000_000, content_type="image/jpeg")
    assert (d.format, d.width, d.height, d.ext) == ("JPEG", 40, 60, "jpg")
    assert decode_image(WEBP, max_pixels=10_000_000, content_type="image/webp").format == "WEBP"
    with pytest.raises(ValidationError) as e:
        decode_image(PNG, max_pixels=10_000_000, content_type="image/jpeg")
    assert e.value.reason == "content_type_mismatch"


@pytest.mark.parametrize("data, reason", [
    (_png_bomb(), "too_many_pixels"), (TRUNCATED, "truncated"), (HTML, "not_an_image"), (b"", "empty"),
    (_encode(_picture(), "TIFF"), "unsupported_format"),
])
def test_decode_refuses_bad_files(data, reason):
    with pytest.raises(ValidationError) as e:
        decode_image(data, max_pixels=40_000_000)
    assert e.value.reason == reason


def test_pixel_cap_below_pillows_own_limit():
    # 3000x3000 = 9 MP passes Pillow's default but not a 5 MP cap
    data = _encode(Image.new("L", (3000, 3000)), "PNG")
    with pytest.raises(ValidationError, match="too_many_pixels"):
        decode_image(data, max_pixels=5_000_000)
    assert Image.MAX_IMAGE_PIXELS != 5_000_000  # the global is restored


# --- the stage -----------------------------------------------------------------------------------


def _seed_posts(store: Store, urls: list[str], *, judge="llm", passed=True, root="r1"):
    store.upsert("posts", [
        {"platform": "x", "post_id": root, "root_id": root, "text": "made with 4o"},
        {"platform": "x", "post_id": root + "-reply", "root_id": root, "parent_id": root, "text": "nice"},
    ])
    store.upsert("relevance", [{"platform": "x", "post_id": root, "judge": judge, "passed": passed,
                                "model": "rules", "prompt_version": "t"}])
    store.upsert("post_media", [
        {"platform": "x", "post_id": root if i % 2 == 0 else root + "-reply", "url": u, "position": i}
        for i, u in enumerate(urls)
    ])


HOSTILE = {
    "/bomb.png": "too_many_pixels", "/truncated.jpg": "truncated", "/html-as-image.png": "not_an_image",
    "/page.html": "bad_content_type", "/png-as-jpeg.jpg": "content_type_mismatch", "/big": "too_large",
    "/slow": "timeout", "/redirect/private": "blocked_address", "/redirect/metadata": "blocked_address",
    "/img/missing.png": "http_404",
}


def test_stage_downloads_validates_dedups_and_records_failures(server, media_config, tmp_path):
    good = ["/img/a.png", "/img/same.png", "/img/rot.jpg", "/img/c.webp", "/redirect/ok"]
    with Store(media_config.path("db")) as store:
        _seed_posts(store, [server.url(p) for p in good + list(HOSTILE)])
        # an image of a tree that did not pass is not fetched
        _seed_posts(store, [server.url("/img/other-tree.png")], passed=False, root="r2")
        ctx = pipeline.start_run(media_config, store)
        pipeline.run_stage(ctx, mstage.run)
        rows = {r["url"].split(str(server.port))[1]: r for r in store.query("SELECT * FROM media")}
        stats = ctx.stage_stats("media")

        assert "/img/other-tree.png" not in server.requests
        for p in good:
            assert rows[p]["status"] == "ok", (p, rows[p]["error"])
        assert rows["/img/rot.jpg"]["width"] == 40 and rows["/img/rot.jpg"]["height"] == 60
        assert rows["/img/c.webp"]["format"] == "WEBP" and rows["/img/c.webp"]["path"].endswith(".webp")
        # identical bytes from three URLs: one file
        sha = rows["/img/a.png"]["sha256"]
        assert rows["/img/same.png"]["sha256"] == sha == rows["/redirect/ok"]["sha256"]
        assert rows["/img/a.png"]["path"] == f"{sha[:2]}/{sha}.png"
        files = [f for f in media_config.path("media_dir").rglob("*") if f.is_file() and "thumbs" not in f.parts]
        assert len(files) == 3
        assert len(rows["/img/a.png"]["phash"]) == 16
        thumb = media_config.path("media_dir") / rows["/img/rot.jpg"]["thumb_path"]
        with Image.open(thumb) as t:
            assert t.format == "WEBP" and t.size == (40, 60)
        for p, reason in HOSTILE.items():
            assert rows[p]["status"] == "failed", p
            assert rows[p]["error"].startswith(reason), (p, rows[p]["error"])
            assert rows[p]["path"] is None
        assert rows["/slow"]["retryable"] is False  # max_retries=1: gave up
        assert stats["stored"] == 5 and stats["failed"] == len(HOSTILE) and stats["deduplicated"] == 2
        assert stats["failed_too_many_pixels"] == 1 and stats["bytes"] > 0

        # the lookups other areas use
        assert media_bytes(store, media_config, server.url("/img/same.png")) == PNG
        assert media_path(store, media_config, server.url("/img/c.webp")).suffix == ".webp"
        assert media_bytes(store, media_config, server.url("/bomb.png")) is None

        # a re-run fetches nothing and changes no row
        before_requests = dict(server.requests)
        before_rows = store.query("SELECT * FROM media ORDER BY url")
        ctx2 = pipeline.start_run(media_config, store)
        pipeline.run_stage(ctx2, mstage.run)
        assert server.requests == before_requests
        assert store.query("SELECT * FROM media ORDER BY url") == before_rows
        assert ctx2.stage_stats("media")["cached"] == len(good) + len(HOSTILE)
        assert ctx2.stage_stats("media")["downloaded"] == 0


def test_transient_failure_is_retried_next_run_until_the_cap(server, media_config):
    media_config.media.max_retries = 2
    server.flaky_failures = 10 ** 6
    with Store(media_config.path("db")) as store:
        _seed_posts(store, [server.url("/down.png")])
        pipeline.run_stage(pipeline.start_run(media_config, store), mstage.run)
        row = store.query("SELECT status, retryable, attempts, error FROM media")[0]
        assert row["status"] == "failed" and row["retryable"] and row["attempts"] == 1
        assert row["error"].startswith("http_503")
        first = server.requests["/down.png"]
        assert first == 3  # 1 + max_retries within the run
        pipeline.run_stage(pipeline.start_run(media_config, store), mstage.run)
        row = store.query("SELECT status, retryable, attempts, error FROM media")[0]
        assert row["attempts"] == 2 and not row["retryable"] and "gave up" in row["error"]
        pipeline.run_stage(pipeline.start_run(media_config, store), mstage.run)
        assert server.requests["/down.png"] == 2 * first  # the third run did not try again


def test_only_trees_a_judge_kept_have_their_images_fetched(server, media_config):
    """The cheap filter's pass is not enough: a tree whose relevance nobody judged yet costs no download."""
    with Store(media_config.path("db")) as store:
        _seed_posts(store, [server.url("/img/a.png")], judge="cheap", root="r1")
        _seed_posts(store, [server.url("/img/c.webp")], judge="cheap", root="r2")
        assert mstage.kept_media_urls(store) == []
        pipeline.run_stage(pipeline.start_run(media_config, store), mstage.run)
        assert store.count("media") == 0 and server.total_requests() == 0
        store.upsert("relevance", [
            {"platform": "x", "post_id": "r1", "judge": "llm", "score": 5, "passed": True, "model": "m",
             "prompt_version": "v"},
            {"platform": "x", "post_id": "r2", "judge": "llm", "score": 1, "passed": False, "model": "m",
             "prompt_version": "v"},
        ])
        assert mstage.kept_media_urls(store) == [server.url("/img/a.png")]


def test_lost_file_is_fetched_again(server, media_config):
    with Store(media_config.path("db")) as store:
        _seed_posts(store, [server.url("/img/c.webp")])
        pipeline.run_stage(pipeline.start_run(media_config, store), mstage.run)
        path = media_path(store, media_config, server.url("/img/c.webp"))
        path.unlink()
        pipeline.run_stage(pipeline.start_run(media_config, store), mstage.run)
        assert path.is_file() and server.requests["/img/c.webp"] == 2


def _scene(seed: int) -> Image.Image:
    import random

    from PIL import ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", (256, 256), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y, s = rnd.randrange(200), rnd.randrange(200), rnd.randrange(30, 120)
        draw.ellipse([x, y, x + s, y + s], fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    return img


def test_phash_is_close_for_a_recompressed_copy():
    from echo.media.store import perceptual_hash

    img = _scene(1)
    again = Image.open(io.BytesIO(_encode(img.resize((200, 200)), "JPEG", quality=60)))
    near = phash_distance(perceptual_hash(img), perceptual_hash(again))
    far = phash_distance(perceptual_hash(img), perceptual_hash(_scene(2)))
    assert near <= 6 < far


def test_cli_shows_failures_and_retries_them(server, tmp_path, capsys):
    import json

    from echo.cli import main

    cfg = tmp_path / "echo.toml"
    cfg.write_text(
        '[paths]\ndb = "db/echo.duckdb"\nmedia_dir = "media"\n'
        '[media]\nallow_loopback = true\ntimeout_s = 2.0\nmax_retries = 1\n'
    )
    server.flaky_failures = 2  # fails in the first run (2 tries), succeeds when retried
    with Store(tmp_path / "db" / "echo.duckdb") as store:
        _seed_posts(store, [server.url("/img/a.png"), server.url("/flaky.png"), server.url("/truncated.jpg")])
    # the first run: via the stage, through the same config file
    assert main(["--config", str(cfg), "refresh", "--only", "media", "-q"]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "media", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["by_status"] == {"failed": 2, "ok": 1}
    assert s["failures_by_reason"] == {"http_503": 1, "truncated": 1}
    assert {r["url"] for r in s["recent_failures"]} == {server.url("/flaky.png"), server.url("/truncated.jpg")}

    assert main(["--config", str(cfg), "media", "--retry-failed", "--reason", "http_503", "--json"]) == 0
    out = capsys.readouterr().out
    s = json.loads(out[out.index("{"):])
    assert s["by_status"] == {"failed": 1, "ok": 2} and s["failures_by_reason"] == {"truncated": 1}
    assert server.requests["/flaky.png"] == 3 and server.requests["/truncated.jpg"] == 1


# --- the transport: public extension points only, TLS checks the original host name ----------------


def test_transport_is_built_from_public_httpx_and_httpcore_names():
    """fetch.py uses only names httpx and httpcore export, and subclasses no concrete httpx transport
    (whose private state, such as its pool, any release may rename)."""
    import ast

    import httpcore
    import httpx

    tree = ast.parse(Path(mfetch.__file__).read_text())
    used = {(n.value.id, n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in ("httpx", "httpcore")}
    exported = {"httpx": set(httpx.__all__), "httpcore": set(httpcore.__all__)}
    assert used and {(mod, name) for mod, name in used if name not in exported[mod]} == set()
    assert issubclass(mfetch.PinnedTransport, httpx.AsyncBaseTransport)
    assert not issubclass(mfetch.PinnedTransport, httpx.AsyncHTTPTransport)


def test_every_library_fetch_imports_is_declared():
    import re
    import tomllib

    root = Path(__file__).resolve().parent.parent
    declared = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower()
                for d in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]}
    imported = {line.split()[1].split(".")[0] for line in Path(mfetch.__file__).read_text().splitlines()
                if line.startswith("import ") and line.split()[1].split(".")[0] in ("httpx", "httpcore")}
    assert imported == {"httpx", "httpcore"} and imported <= declared


def _self_signed(tmp_path: Path, hostname: str) -> tuple[Path, Path]:
    """A certificate for `hostname` only (no IP in it), and its key, as PEM files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem, key_pem = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert_pem, key_pem


@pytest.fixture
def tls_server(tmp_path):
    """The image server behind TLS with a certificate for images.test; records the SNI names it is sent."""
    import ssl

    s = ImageServer()
    cert, key = _self_signed(tmp_path, "images.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    s.sni: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: s.sni.append(name)
    s.httpd.socket = context.wrap_socket(s.httpd.socket, server_side=True)
    s.cert = cert
    yield s
    s.close()


def test_tls_verifies_the_original_host_name_while_connecting_to_the_vetted_ip(tls_server):
    import ssl

    client_context = ssl.create_default_context(cafile=str(tls_server.cert))
    lookups = []

    async def resolver(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    url = f"https://images.test:{tls_server.port}/img/a.png"
    got, f = _fetch(url, resolver=resolver, ssl_context=client_context)
    assert (got.data, got.final_url) == (PNG, url)
    assert lookups == ["images.test"] and f.backend.connected == [("images.test", "127.0.0.1")]
    assert tls_server.sni == ["images.test"]  # SNI carries the name, not the pinned IP

    # the same server under another name: the certificate does not match, so nothing is fetched
    with pytest.raises(FetchError) as e:
        _fetch(f"https://other.test:{tls_server.port}/img/a.png", resolver=resolver, ssl_context=client_context)
    assert e.value.reason == "connect_error" and "certificate" in str(e.value).lower()
    # and by IP: the certificate names no IP
    with pytest.raises(FetchError) as e:
        _fetch(f"https://127.0.0.1:{tls_server.port}/img/a.png", ssl_context=client_context)
    assert e.value.reason == "connect_error" and "certificate" in str(e.value).lower()
    assert tls_server.requests == {"/img/a.png": 1}


# --- download lanes ------------------------------------------------------------------------------


class CountingFetcher:
    """Serves in-memory images instantly (like local files) and counts the fetched files not yet processed."""

    def __init__(self, images: dict[str, bytes], failing: set[str] = frozenset()):
        self.images, self.failing = images, failing
        self.waiting = 0
        self.most_waiting = 0

    async def fetch(self, url):
        if url in self.failing:
            raise FetchError("http_404", "gone", retryable=False)
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        return mfetch.Fetched(url=url, final_url=url, data=self.images[url], content_type="image/png", local=True)

    async def aclose(self):
        pass


def _lane_config(tmp_path, concurrency: int):
    from echo.config import Config

    config = Config()
    config.paths.media_dir = str(tmp_path / "media")
    config.media.concurrency = concurrency
    config.media.ocr = False
    return config


def test_download_lanes_bound_the_files_waiting_for_a_decoder(tmp_path, monkeypatch):
    images = {f"https://img.invalid/{i}.png": _encode(_picture(seed=i), "PNG") for i in range(60)}
    fetcher = CountingFetcher(images, failing={"https://img.invalid/7.png"})
    config = _lane_config(tmp_path, concurrency=3)
    real_process = mstage.process

    def process(*a, **kw):
        time.sleep(0.002)  # decoding is slower than reading a local file
        if isinstance(a[1], mfetch.Fetched):
            fetcher.waiting -= 1
        return real_process(*a, **kw)

    monkeypatch.setattr(mstage, "process", process)
    items = [(url, 0, False) for url in images]
    outcomes = mstage.fetch_and_store(config, "run", items, fetcher_factory=lambda: fetcher)
    assert [o.url for o in outcomes] == list(images)  # every URL once, in the order asked
    statuses = {o.url: o.stored.row["status"] for o in outcomes}
    assert statuses.pop("https://img.invalid/7.png") == "failed"
    assert set(statuses.values()) == {"ok"}
    decoders = min(3, os.cpu_count() or 1)
    assert 1 <= fetcher.most_waiting <= 3 + decoders  # the lanes, not the 60 URLs


def test_a_failing_writer_stops_the_download(tmp_path):
    images = {f"https://img.invalid/{i}.png": _encode(_picture(seed=i), "PNG") for i in range(20)}
    config = _lane_config(tmp_path, concurrency=2)
    seen = []

    def on_outcome(outcome):
        seen.append(outcome.url)
        if len(seen) == 5:
            raise RuntimeError("database is gone")

    with pytest.raises(RuntimeError, match="database is gone"):
        mstage.fetch_and_store(config, "run", [(u, 0, False) for u in images],
                               fetcher_factory=lambda: CountingFetcher(images), on_outcome=on_outcome)
    assert len(seen) < len(images)  # the other lanes stopped instead of working through the rest
