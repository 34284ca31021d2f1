"""The source kinds echo can crawl, the module of each, and the credentials (environment variables) each needs.

Data only, so the configuration can check a source's kind and the ECHO_* variables without loading a connector.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    module: str
    required_env: tuple[str, ...]
    optional_env: tuple[str, ...] = ()
    help: str = ""


KINDS: dict[str, Kind] = {
    "x": Kind("echo.sources.x", ("ECHO_X_BEARER_TOKEN",),
              help="an app bearer token from developer.x.com (Basic tier or higher for search)"),
    "bluesky": Kind("echo.sources.bluesky", ("ECHO_BLUESKY_HANDLE", "ECHO_BLUESKY_APP_PASSWORD"),
                    help="your handle and an app password (Settings > Privacy and security > App passwords)"),
    "reddit": Kind("echo.sources.reddit", ("ECHO_REDDIT_CLIENT_ID", "ECHO_REDDIT_CLIENT_SECRET"),
                   help="a script app's id and secret from reddit.com/prefs/apps"),
    "mastodon": Kind("echo.sources.mastodon", (), ("ECHO_MASTODON_TOKEN",),
                     help="optional access token: public timelines work without; full-text search needs it"),
    "hackernews": Kind("echo.sources.hackernews", (), help="no credentials"),
}
LIVE_KINDS = tuple(KINDS)
ALL_KINDS = ("import", *LIVE_KINDS)
