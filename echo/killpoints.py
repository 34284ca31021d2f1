"""Named points where the crash tests kill the process (SIGKILL, as a power cut or the OOM killer would): the
stage boundaries of a refresh and each step of publishing a release. A no-op unless $ECHO_TEST_KILL_AT names it."""

from __future__ import annotations

import os
import signal

KILL_ENV = "ECHO_TEST_KILL_AT"


def killpoint(name: str) -> None:
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
