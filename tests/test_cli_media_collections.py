"""Image and audio folders through the CLI, in-process: `embedlab index NAME FOLDER --encoder conse|mfcc`, then
`embedlab search` with text (English and Korean, ConSE's joint space), an image path, or an audio path.

A query string naming an existing image/audio file is encoded as that file (the encoders treat such a string
as a path), so image->image and audio->audio search go through the same `search` command as text.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

from embedlab.cli import main

SR = 22050
SENTENCES = ("The quick brown fox jumps over the lazy dog near the river bank.",
             "Please remember to bring your umbrella tomorrow morning.",
             "Seven small boats sailed slowly across the quiet harbour at dawn.")  # the third is a held-out query
VOICES = {"low": ["-v", "en-us+m3", "-p", "30", "-s", "150"], "high": ["-v", "en-gb+f4", "-p", "85", "-s", "170"]}


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def run_json(capsys, *args: str):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def _run_quiet(*args: str):
    """`main(args + --json)` outside a test (session fixtures cannot use capsys): returns the parsed JSON."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main([str(a) for a in args] + ["--json"])
    assert exc.value.code == 0, err.getvalue()
    return json.loads(out.getvalue())


def _ids(hits: list[dict]) -> list[str]:
    """Hits' ids without their extension (a file's id is its path relative to the folder indexed)."""
    return [h["id"].rsplit(".", 1)[0] for h in hits]


# ----------------------------------------------------------------------------------------------- images
@pytest.fixture(scope="session")
def pics(tmp_path_factory):
    """Photos shipped inside scikit-image, written as .jpg/.png and indexed once with ConSE in a session home."""
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    skdata = pytest.importorskip("skimage.data")
    from PIL import Image

    root = tmp_path_factory.mktemp("pics")
    folder, queries = root / "photos", root / "queries"
    folder.mkdir()
    queries.mkdir()
    photos = {n: getattr(skdata, n)() for n in ("chelsea", "coffee", "rocket", "astronaut", "hubble_deep_field")}
    for i, (name, arr) in enumerate(photos.items()):
        Image.fromarray(arr).save(folder / f"{name}.{'jpg' if i % 2 == 0 else 'png'}", quality=92)
    (folder / "timetable.txt").write_text("The express train to Busan leaves Seoul station at nine.", "utf-8")
    # queries that are not in the collection: the cat mirrored and cropped, the coffee cup cropped
    Image.fromarray(np.ascontiguousarray(photos["chelsea"][20:290, ::-1][:, 40:400])).save(queries / "cat_flip.png")
    Image.fromarray(photos["coffee"][40:380, 80:520]).save(queries / "cup_crop.jpg", quality=90)
    home = root / "home"
    summary = _run_quiet("--home", home, "index", "pics", folder, "--encoder", "conse")
    return {"home": home, "folder": folder, "queries": queries, "summary": summary, "names": sorted(photos)}


def test_index_image_folder_ids_are_file_paths(capsys, pics):
    s = pics["summary"]
    assert (s["documents"], s["added"], s["count"], s["split"]) == (6, 6, 6, 0)
    info = run_json(capsys, "--home", pics["home"], "info", "pics")
    assert info["encoder"]["name"] == "conse" and info["count"] == 6
    hits = run_json(capsys, "--home", pics["home"], "search", "pics", "anything", "-k", "10")
    assert sorted(_ids(hits)) == sorted(pics["names"] + ["timetable"])  # ConSE is joint: it takes text files too
    images = [h for h in hits if h["id"] != "timetable.txt"]
    assert {h["metadata"]["modality"] for h in images} == {"image"}
    assert all(h["id"] == h["metadata"]["file"] for h in hits)
    assert {h["metadata"]["file"] for h in images} == {p.name for p in pics["folder"].iterdir() if p.suffix != ".txt"}
    hits = run_json(capsys, "--home", pics["home"], "search", "pics", "기차 시간표", "-k", "1")
    assert _ids(hits) == ["timetable"]  # text -> text in the same space (Korean query, English file)


@pytest.mark.parametrize("query,want", [("a cat", "chelsea"), ("고양이", "chelsea"), ("a cup of coffee", "coffee"),
                                        ("커피 한 잔", "coffee"), ("a space rocket", "rocket")])
def test_text_to_image_search(capsys, pics, query, want):
    hits = run_json(capsys, "--home", pics["home"], "search", "pics", query, "-k", "6", "--where", "modality=image")
    assert _ids(hits)[0] == want, [(h["id"], round(h["score"], 3)) for h in hits]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and len(hits) == 5
    unfiltered = run_json(capsys, "--home", pics["home"], "search", "pics", query, "-k", "1")
    assert _ids(unfiltered) == [want]  # the text file does not crowd out the right image


def test_image_to_image_search_by_path(capsys, pics):
    home = pics["home"]
    hits = run_json(capsys, "--home", home, "search", "pics", pics["queries"] / "cat_flip.png", "-k", "2")
    assert _ids(hits)[0] == "chelsea"
    assert hits[0]["score"] > hits[1]["score"] + 0.1, hits
    hits = run_json(capsys, "--home", home, "search", "pics", pics["queries"] / "cup_crop.jpg", "-k", "1")
    assert _ids(hits) == ["coffee"]
    hits = run_json(capsys, "--home", home, "search", "pics", pics["folder"] / "rocket.jpg", "-k", "1")
    assert _ids(hits) == ["rocket"] and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)  # an indexed file finds itself


def test_image_to_image_search_by_vector_in_python(pics):
    """The library takes a vector query too: the encoded image, searched in the CLI-built collection."""
    from embedlab import config
    from embedlab.store import Collection

    config.set_home(pics["home"])
    with Collection.open("pics") as col:
        vec = col.encoder.encode([pics["queries"] / "cat_flip.png"])[0]
        hits = col.search(vec, k=3)
    assert hits[0].id.rsplit(".", 1)[0] == "chelsea"
    assert [h.id for h in hits] == [h["id"] for h in _run_quiet("--home", pics["home"], "search", "pics",
                                                                   pics["queries"] / "cat_flip.png", "-k", "3")]


# ------------------------------------------------------------------------------------------------ audio
def _tone(freq: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _noise(seed: int, level: float, seconds: float = 2.0) -> np.ndarray:
    return (level * np.random.default_rng(seed).uniform(-1, 1, int(seconds * SR))).astype(np.float32)


@pytest.fixture(scope="session")
def sounds(tmp_path_factory):
    """espeak-ng speech (two voices x two sentences), numpy tones and noise; indexed once with `--encoder mfcc`.

    Mixed containers on purpose (wav, flac, ogg): the folder reader takes every audio file the encoder reads."""
    sf = pytest.importorskip("soundfile")
    pytest.importorskip("librosa")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng; scripts/install-system.sh does it)")
    root = tmp_path_factory.mktemp("sounds")
    folder, queries = root / "clips", root / "queries"
    folder.mkdir()
    queries.mkdir()
    for voice, args in VOICES.items():
        for i, text in enumerate(SENTENCES):
            dest = (queries if i == 2 else folder) / f"speech_{voice}_{i}.wav"
            subprocess.run(["espeak-ng", *args, "-w", str(dest), text], check=True, capture_output=True, timeout=60)
    sf.write(folder / "tone_440.wav", _tone(440), SR)
    sf.write(folder / "tone_660.flac", _tone(660), SR)
    sf.write(folder / "noise_loud.wav", _noise(0, 0.8), SR)
    sf.write(folder / "noise_soft.ogg", _noise(1, 0.3), SR)
    sf.write(queries / "tone_550.wav", _tone(550, 1.5), SR)
    sf.write(queries / "noise_mid.wav", _noise(2, 0.5, 1.5), SR)
    (folder / "notes.txt").write_text("not audio", "utf-8")
    home = root / "home"
    summary = _run_quiet("--home", home, "index", "clips", folder, "--encoder", "mfcc")
    return {"home": home, "folder": folder, "queries": queries, "summary": summary}


def _kind(name: str) -> str:
    return name.split("_")[0]


def test_index_audio_folder(capsys, sounds):
    s = sounds["summary"]
    assert (s["documents"], s["added"], s["count"]) == (8, 8, 8)
    hits = run_json(capsys, "--home", sounds["home"], "search", "clips", sounds["folder"] / "tone_440.wav", "-k", "8")
    assert sorted(_ids(hits)) == sorted(p.stem for p in sounds["folder"].iterdir() if p.suffix != ".txt")
    assert {h["metadata"]["modality"] for h in hits} == {"audio"}
    again = run_json(capsys, "--home", sounds["home"], "index", "clips", sounds["folder"])
    assert (again["added"], again["unchanged"], again["count"]) == (0, 8, 8)  # re-indexing skips unchanged files


def test_audio_to_audio_search_finds_the_other_clip_of_the_same_kind(capsys, sounds):
    for path in sorted(p for p in sounds["folder"].iterdir() if p.suffix != ".txt"):
        hits = run_json(capsys, "--home", sounds["home"], "search", "clips", path, "-k", "3")
        assert hits[0]["id"] == path.name and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)  # itself
        assert _kind(_ids(hits)[1]) == _kind(path.stem), (path.stem, [(h["id"], round(h["score"], 3)) for h in hits])


def test_audio_queries_not_in_the_collection(capsys, sounds):
    for name, want in [("speech_low_2.wav", "speech"), ("speech_high_2.wav", "speech"), ("tone_550.wav", "tone"),
                       ("noise_mid.wav", "noise")]:
        hits = run_json(capsys, "--home", sounds["home"], "search", "clips", sounds["queries"] / name, "-k", "2")
        assert [_kind(h["id"]) for h in hits] == [want, want], (name, hits)


def test_audio_collection_rejects_a_text_query_clearly(capsys, sounds):
    code, out, err = run(capsys, "--home", sounds["home"], "search", "clips", "a dog barking")
    assert code == 2 and out == ""
    assert "audio file not found" in err
