"""Named points where the crash tests kill the process (SIGKILL, as a power cut or the OOM killer would): the
stage boundaries of a refresh, each step of publishing a release, and a partition on a Dask worker. A no-op unless
$ECHO_TEST_KILL_AT names it. `NAME@FILE` kills only the first process to reach NAME (the one that creates FILE):
a restarted Dask worker that runs the same partition again then lives."""

from __future__ import annotations

import os
import signal

KILL_ENV = "ECHO_TEST_KILL_AT"


def killpoint(name: str) -> None:
    value = os.environ.get(KILL_ENV)
    if not value:
        return
    point, _, once_file = value.partition("@")
    if point != name:
        return
    if once_file:
        try:
            os.close(os.open(once_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)
