"""The README's examples run as written, twice in a row, and print what they claim; its shell examples name
commands and options the CLI has."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PG_URL = "postgresql://postgres@127.0.0.1:54329/embedlab"


def _blocks(lang: str) -> list[str]:
    blocks = re.findall(rf"```{lang}\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    assert blocks, f"the README has no {lang} example"
    return blocks


def _corpus(path: Path) -> None:
    """A small real English text (gensim's Lee corpus, 60k tokens; the test set-up installs gensim)."""
    gensim_utils = pytest.importorskip("gensim.test.utils")
    shutil.copyfile(gensim_utils.datapath("lee_background.cor"), path)


@pytest.mark.slow
def test_readme_python_tour_runs_twice(tmp_path, monkeypatch, use_encoder):
    monkeypatch.chdir(tmp_path)
    _corpus(tmp_path / "corpus.txt")
    code = _blocks("python")[0]
    for _ in range(2):  # a second run finds the collection and the files of the first
        ns: dict = {}
        exec(compile(code, str(README), "exec"), ns)
        assert ns["glove"].arithmetic("king - man + woman", k=1)[0][0] == "queen"
        assert ns["docs"].search("빠른 운송 수단", k=1)[0].id == "t1"
        assert ns["docs"].count() == 2
        hits = ns["embedlab"].hybrid_search(ns["docs"], "KTX 고속열차", k=2)
        assert {h.id for h in hits} == {"t1", "c1"}
        assert (tmp_path / "w2v.txt").read_text().split("\n", 1)[0] == f"{len(ns['model'].wv)} 100"
        ns["docs"].close()
    # the commented results in the README are the real ones
    assert "# [('queen', 0.852)]" in code and "# [('rome', 0.847)]" in code
    assert round(ns["glove"].arithmetic("king - man + woman", k=1)[0][1], 3) == 0.852
    rome = ns["glove"].most_similar(positive=["paris", "italy"], negative=["france"], topn=1)[0]
    assert rome[0] == "rome" and round(rome[1], 3) == 0.847


def test_readme_postgres_example_runs_twice(tmp_path, monkeypatch, use_encoder, pg_url):
    """The PostgreSQL example, on the test server's database in place of the URL `scripts/postgres.sh` prints."""
    import embedlab

    monkeypatch.chdir(tmp_path)
    local = embedlab.Collection.create("docs", use_encoder)
    local.add(["t1", "c1"], ["A high-speed train crosses the country in hours.", "A car has four wheels."])
    local.close()
    (code,) = [b for b in _blocks("python") if "postgresql://" in b]
    assert PG_URL in code
    for _ in range(2):
        ns: dict = {}
        exec(compile(code.replace(PG_URL, pg_url), str(README), "exec"), ns)
        assert ns["pg"].count() == 2 and ns["pg"].search("빠른 운송 수단", k=1)[0].id == "t1"
        ns["pg"].close()
    embedlab.Collection.drop("docs", backend=pg_url)


def test_readme_pandas_example_runs_twice(tmp_path, monkeypatch, use_encoder):
    """The pandas example ("Use embedlab from pandas") prints what its comments say, and runs again on the
    collection the first run made."""
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    blocks = [b for b in _blocks("python") if "from_pandas" in b]
    assert len(blocks) == 1, "the README needs one python example of Collection.from_pandas (Use embedlab from pandas)"
    code = blocks[0]
    for _ in range(2):
        ns: dict = {}
        exec(compile(code, str(README), "exec"), ns)
        articles, out = ns["articles"], ns["out"]
        assert articles.search("빠른 기차", k=1, where={"year": 2024})[0].id == "t1"  # '# 't1''
        assert list(out.columns) == ["id", "vector", "content", "source", "year"] and len(out) == 3
        assert ns["np"].stack(out["vector"]).shape == (3, 512)
        assert sum(b.num_rows for b in articles.to_arrow(batch_size=10_000)) == 3
        assert ns["embedlab"].glove().subset(["king", "queen"]).to_pandas().shape == (2, 50)
        articles.close()
    for claim in ("# 't1'", "# columns id, vector, content, source, year", "# (3, 512) float32", "# 3, streamed",
                  "# (2, 50)"):
        assert claim in code


def _shell_commands() -> list[list[str]]:
    """Every ``embedlab ...`` command of the README's bash examples, as argument lists (comments dropped, lines
    split at ``&&``, ``;`` and ``|``)."""
    commands = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            part: list[str] = []
            for word in [*words, "&&"]:
                if word in ("&&", ";", "|", "||"):
                    if part and part[0] == "embedlab":
                        commands.append(part[1:])
                    part = []
                else:
                    part.append(word)
    return commands


def test_readme_shell_commands_parse():
    """Each command and option the README shows exists and takes the values shown (parsed, not run)."""
    import typer

    from embedlab.cli import _load_commands
    from embedlab.cli.app import app

    _load_commands()
    group = typer.main.get_command(app)
    commands = _shell_commands()
    assert len(commands) >= 20 and ["list"] in commands
    seen = set()
    for args in commands:
        seen.add(_parse(group, "embedlab", list(args)))
    assert {"index", "search", "get", "delete", "export", "import", "train", "align"} <= seen


def _parse(cmd, name: str, args: list[str], parent=None) -> str:
    """Parse ``args`` the way the CLI does, down through command groups, without running anything; a usage error
    (unknown command or option, bad value) propagates. Returns the first-level command's name."""
    ctx = cmd.make_context(name, args, parent=parent, resilient_parsing=False)
    if not hasattr(cmd, "resolve_command"):
        return name
    protected = getattr(ctx, "protected_args", None) or getattr(ctx, "_protected_args", [])  # click < / >= 8.2
    sub_name, sub, rest = cmd.resolve_command(ctx, [*protected, *ctx.args])
    assert sub is not None, args
    _parse(sub, sub_name, rest, ctx)
    return sub_name


def test_readme_command_check_catches_a_wrong_option():
    import typer

    from embedlab.cli import _load_commands
    from embedlab.cli.app import app

    _load_commands()
    group = typer.main.get_command(app)
    assert _parse(group, "embedlab", ["train", "word2vec", "c.txt", "--arch", "cbow", "-o", "out/"]) == "train"
    for wrong in (["search", "notes", "q", "--no-such-option"], ["train", "word2vec", "c.txt", "--arch"],
                  ["no-such-command"]):
        with pytest.raises(Exception, match="(?i)no such|requires an argument|option"):
            _parse(group, "embedlab", wrong)


def test_readme_integrations_example_runs_twice(tmp_path, monkeypatch, use_encoder):
    """The LangChain / LlamaIndex example: the same answers on a new collection and on the one it left."""
    pytest.importorskip("langchain_core")
    pytest.importorskip("llama_index.core")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBEDLAB_HOME", str(tmp_path / "home"))
    (code,) = [b for b in _blocks("python") if "embedlab.integrations" in b]
    assert code.endswith("notes.close()\n")
    for _ in range(2):
        ns: dict = {}
        exec(compile(code.removesuffix("notes.close()\n"), str(README), "exec"), ns)  # closed below, after checking
        assert ns["notes"].count() == 2
        assert ns["store"].similarity_search("빠른 기차", k=1, filter={"year": {"$gte": 2020}})[0].id == "t1"
        assert len(ns["query_vector"]) == 512
        assert ns["index"].as_retriever(similarity_top_k=1).retrieve("자동차")[0].node.node_id == "c1"
        ns["notes"].close()
    assert "# 'A high-speed train crosses the country in hours.'" in code and "# 'A car has four wheels.'" in code
