"""CLI error lines: one readable line on stderr, exit code 2, brackets printed as text (not rich markup)."""

from __future__ import annotations

from embedlab.cli.app import fail
from embedlab.errors import MissingDependencyError


def test_error_text_with_brackets_is_printed_verbatim(capsys):
    exit_ = fail(MissingDependencyError("PNG plots need matplotlib: pip install 'embedlab[eval]' [bold]x[/]"))
    assert exit_.exit_code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: PNG plots need matplotlib: pip install 'embedlab[eval]' [bold]x[/]"
