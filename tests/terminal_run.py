"""Running a command on a pseudo-terminal in tests: its progress shows as it would to a person at a terminal."""

from __future__ import annotations

import os
import subprocess


def run_on_a_terminal(cmd: list[str], env: dict[str, str], *, size: tuple[int, int] | None = None,
                      stdin_on_terminal: bool = False, stdout_on_terminal: bool = True) -> tuple[str, str]:
    """Run ``cmd`` with stderr on a new pseudo-terminal (``size`` = (rows, columns), or none reported) and assert it
    exits with status 0; (the terminal's whole output, stdout when piped else "")."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    main, child = pty.openpty()
    if size is not None:
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    proc = subprocess.Popen(cmd, stdin=child if stdin_on_terminal else subprocess.DEVNULL,
                            stdout=child if stdout_on_terminal else subprocess.PIPE, stderr=child, env=env)
    os.close(child)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        piped = proc.stdout.read() if proc.stdout is not None else b""
        assert proc.wait(timeout=300) == 0, seen[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    return seen.decode("utf-8", "replace"), piped.decode("utf-8", "replace")
