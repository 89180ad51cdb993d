"""`embedlab --help` and every `embedlab COMMAND --help` at 80 columns: docstrings (hard-wrapped at ~110 columns
in the source) re-flow to the terminal instead of breaking every other line short, no line passes 80 columns, and
an indented example paragraph keeps its lines."""

from __future__ import annotations

import pytest
import typer
from rich.cells import cell_len

from embedlab.cli import _load_commands, main
from embedlab.cli.app import app, reflowed


def _command_paths() -> list[list[str]]:
    _load_commands()

    def walk(cmd, path):
        yield path
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not sub.hidden:
                yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def _help(capsys, path: list[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return out


def test_every_help_fits_80_columns_and_re_flows(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    paths = _command_paths()
    assert len(paths) > 40 and ["index"] in paths and ["train", "word2vec"] in paths
    for path in paths:
        out = _help(capsys, path)
        lines = out.splitlines()
        assert [line for line in lines if cell_len(line) > 80] == [], path  # columns, not code points (W̃)
        prose = lines[:next(i for i, line in enumerate(lines) if line.startswith("╭"))]  # before the panels
        for above, below in zip(prose, prose[1:], strict=False):
            if above.strip() and below.strip():  # within a paragraph: a line ends only where the next word can't fit
                assert len(above.rstrip()) + 1 + len(below.split()[0]) > 79, (path, above, below)


def test_index_help_reads_as_paragraphs(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = _help(capsys, ["index"])
    assert " HTML main text, Word .docx, EPUB; told by content, not only by extension), and \n" in out


def test_reflowed_joins_paragraph_lines_and_keeps_examples():
    doc = """Summary line that
    goes on.

    A paragraph hard-wrapped
    at some width.

    Example:

        embedlab index notes docs/ --encoder minilm
        embedlab search notes "harbour"

    \b
    keep
    these lines
    """
    assert reflowed(doc) == ("Summary line that goes on.\n\nA paragraph hard-wrapped at some width.\n\nExample:\n\n"
                             "    embedlab index notes docs/ --encoder minilm\n    embedlab search notes \"harbour\"\n\n"
                             "\b\nkeep\nthese lines")
    assert reflowed(None) is None and reflowed("") == ""


def test_an_example_paragraph_keeps_its_lines_in_the_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")

    @app.command("help-example-probe", hidden=True)
    def probe() -> None:
        """Show an example.

        Run it like this, and the lines stay as they are even though this paragraph is long enough to wrap at
        eighty columns:

            embedlab index notes docs/ --encoder minilm
            embedlab search notes "harbour"
        """

    try:
        out = _help(capsys, ["help-example-probe"])
    finally:
        app.registered_commands.pop()
    lines = [line.strip() for line in out.splitlines()]
    at = lines.index("embedlab index notes docs/ --encoder minilm")  # each example line whole, on a line of its own
    assert lines[at + 1] == 'embedlab search notes "harbour"'
    assert "long enough to wrap at eighty columns:" in lines  # the prose around it re-flowed
    assert not [line for line in lines if cell_len(line) > 80]
