"""CLI error lines: one readable line on stderr, exit code 2, brackets printed as text (not rich markup)."""

from __future__ import annotations

from embedlab.cli.app import fail
from embedlab.errors import MissingDependencyError


def test_error_text_with_brackets_is_printed_verbatim(capsys):
    exit_ = fail(MissingDependencyError("PNG plots need matplotlib: pip install 'embedlab[eval]' [bold]x[/]"))
    assert exit_.exit_code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: PNG plots need matplotlib: pip install 'embedlab[eval]' [bold]x[/]"


def _main(capsys, *args: str) -> tuple[int, str, str]:
    import pytest

    from embedlab.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_usage_errors_are_one_line_with_where_the_help_is(capsys):
    assert _main(capsys, "search") == (2, "", "error: Missing argument 'name' (see embedlab search --help)\n")
    assert _main(capsys, "nosuch") == (2, "", "error: No such command 'nosuch' (see embedlab --help)\n")
    assert _main(capsys, "train", "word2vec", "c.txt", "--nope") == \
        (2, "", "error: No such option: --nope (see embedlab train word2vec --help)\n")
    code, _, err = _main(capsys, "search", "notes", "q", "-k", "many")
    assert code == 2 and err == ("error: Invalid value for '--top-k' / '-k': Input should be a valid integer, "
                                 "unable to parse string as an integer (see embedlab search --help)\n")


def test_version(capsys):
    from importlib.metadata import version

    assert _main(capsys, "--version") == (0, f"embedlab {version('embedlab')}\n", "")
    assert version("embedlab") == __import__("embedlab").__version__
