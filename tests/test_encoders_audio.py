"""Audio encoders on sounds the tests make: espeak-ng speech (two voices), sox tones and noise."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("librosa")

import embedlab  # noqa: E402
from embedlab.errors import CorruptFileError, InputError, ModelNotFoundError  # noqa: E402

SENTENCES = ("The quick brown fox jumps over the lazy dog near the river bank.",
             "Please remember to bring your umbrella tomorrow morning.")
VOICES = {"low": ["-v", "en-us+m3", "-p", "30", "-s", "150"], "high": ["-v", "en-gb+f4", "-p", "85", "-s", "170"]}


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """name -> path: speech_{low,high}_{0,1}, tone_{0,1} (440/660 Hz), noise_{0,1} (white noise, two levels).

    Every clip is the same on every run: espeak-ng and sox tones are deterministic, the noise uses ``sox -R``."""
    missing = [b for b in ("espeak-ng", "sox") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install espeak-ng sox; "
                    "scripts/install-system.sh does it)")
    return _make_clips(tmp_path_factory.mktemp("audio"))


def _make_clips(d):
    out = {}
    for voice, args in VOICES.items():
        for i, text in enumerate(SENTENCES):
            out[f"speech_{voice}_{i}"] = d / f"speech_{voice}_{i}.wav"
            _run(["espeak-ng", *args, "-w", str(out[f"speech_{voice}_{i}"]), text])
    for i, freq in enumerate((440, 660)):
        out[f"tone_{i}"] = d / f"tone_{i}.wav"
        _run(["sox", "-n", "-r", "22050", str(out[f"tone_{i}"]), "synth", "2", "sine", str(freq)])
    for i, vol in enumerate(("0.8", "0.3")):
        out[f"noise_{i}"] = d / f"noise_{i}.wav"
        # -R: repeatable (fixed seed); sox draws new noise on every run otherwise, which made test outcomes vary
        _run(["sox", "-R", "-n", "-r", "22050", str(out[f"noise_{i}"]), "synth", "2", "whitenoise", "vol", vol])
    return out


def _kind(name: str) -> str:
    return name.split("_")[0]


def _assert_nearest_is_same_kind(vecs: np.ndarray, names: list[str]) -> None:
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    for i, name in enumerate(names):
        assert _kind(names[int(sims[i].argmax())]) == _kind(name), (name, np.round(sims[i], 3))
        same = [sims[i, j] for j, n in enumerate(names) if j != i and _kind(n) == _kind(name)]
        cross = [sims[i, j] for j, n in enumerate(names) if _kind(n) != _kind(name)]
        assert np.mean(same) > np.mean(cross), name


@pytest.fixture(scope="session")
def mfcc():
    return embedlab.encoder("mfcc")


def test_mfcc_separates_speech_tone_noise(mfcc, clips):
    names = sorted(clips)
    vecs = mfcc.encode([clips[n] for n in names], batch_size=3)
    assert vecs.shape == (len(names), 248) and mfcc.dim == 248
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vecs, mfcc.encode([clips[n] for n in names], batch_size=8), atol=1e-6)
    _assert_nearest_is_same_kind(vecs, names)


def test_audio_arrays_tuples_stereo_and_ints(mfcc, clips):
    data, sr = sf.read(str(clips["speech_low_0"]), dtype="float32")
    from_file = mfcc.encode([clips["speech_low_0"]])
    np.testing.assert_allclose(mfcc.encode([(data, sr)]), from_file, atol=1e-6)
    np.testing.assert_allclose(mfcc.encode((data, sr)), from_file, atol=1e-6)  # one tuple = one sound
    np.testing.assert_allclose(mfcc.encode([(np.stack([data, data], axis=1), sr)]), from_file, atol=1e-5)
    pcm = np.round(data * 32767).astype(np.int16)
    np.testing.assert_allclose(mfcc.encode([(pcm, sr)]), from_file, atol=1e-3)
    resampled = mfcc.encode([(data, sr)])  # 22,050 Hz file -> 16 kHz model rate
    assert resampled.shape == (1, 248)


def test_audio_search_ranks_the_right_file_first(mfcc, clips):
    names = sorted(clips)
    library = mfcc.encode([clips[n] for n in names])
    rng = np.random.default_rng(0)
    for target in ("speech_high_1", "tone_1", "noise_0"):
        data, sr = sf.read(str(clips[target]), dtype="float32")
        noisy = data[: int(0.8 * len(data))] + 0.003 * rng.standard_normal(int(0.8 * len(data))).astype(np.float32)
        query = mfcc.encode([(noisy, sr)])
        assert names[int((library @ query[0]).argmax())] == target


def test_audio_input_errors(mfcc, tmp_path):
    with pytest.raises(InputError, match="audio file not found"):
        mfcc.encode([tmp_path / "missing.wav"])
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....not really a wav")
    with pytest.raises(CorruptFileError, match="cannot read .*bad.wav as audio"):
        mfcc.encode([bad])
    with pytest.raises(InputError, match=r"pass \(array, sample_rate\)"):
        mfcc.encode([np.zeros(16000, dtype=np.float32)])
    with pytest.raises(InputError, match="sample rate must be a positive int"):
        mfcc.encode([(np.zeros(16000, dtype=np.float32), 0)])
    with pytest.raises(InputError, match="NaN"):
        mfcc.encode([(np.full(16000, np.nan, dtype=np.float32), 16000)])
    short = mfcc.encode([(np.ones(100, dtype=np.float32) * 0.1, 16000)])  # shorter than one FFT frame
    assert np.isfinite(short).all()


def test_clips_and_ogg_encoding_are_the_same_on_every_run(clips, tmp_path):
    """The cause of this file's old intermittent failures was input that changed between runs (sox drew new
    noise each time). Every clip, and the Ogg Vorbis round trip the next test makes, must be repeatable."""
    (tmp_path / "again").mkdir()
    again = _make_clips(tmp_path / "again")
    assert {k: again[k].read_bytes() for k in again} == {k: clips[k].read_bytes() for k in clips}
    data, sr = sf.read(str(clips["speech_low_0"]), dtype="float32")
    decoded = []
    for i in range(2):
        sf.write(str(tmp_path / f"c{i}.ogg"), data, sr)
        decoded.append(sf.read(str(tmp_path / f"c{i}.ogg"), dtype="float32")[0])
    np.testing.assert_array_equal(decoded[0], decoded[1])


def test_wav_flac_ogg_give_the_same_vector(mfcc, clips, tmp_path):
    """One clip written three ways: lossless FLAC decodes to the very samples of the WAV; Ogg Vorbis is lossy
    (samples differ by up to ~0.1 here), yet its MFCC/log-mel statistics stay within cosine 0.99."""
    data, sr = sf.read(str(clips["speech_low_0"]), dtype="float32")
    paths = {ext: tmp_path / f"clip.{ext}" for ext in ("wav", "flac", "ogg")}
    for path in paths.values():
        sf.write(str(path), data, sr)
    assert sf.info(str(paths["flac"])).format == "FLAC" and sf.info(str(paths["ogg"])).subtype == "VORBIS"
    vecs = mfcc.encode([paths["wav"], str(paths["flac"]), paths["ogg"], clips["speech_low_0"]])
    np.testing.assert_allclose(vecs[0], vecs[3], atol=1e-6)  # re-written WAV (PCM_16) == espeak-ng's WAV
    np.testing.assert_allclose(vecs[1], vecs[0], atol=1e-5)  # FLAC is lossless
    cos = float(vecs[2] @ vecs[0])
    assert 0.99 < cos < 1.0 - 1e-6, cos  # Ogg Vorbis: close, and honestly not identical
    others = mfcc.encode([clips[n] for n in ("tone_0", "noise_0")])
    assert cos > float((others @ vecs[0]).max()) + 0.1  # far closer to its source than to tone or noise (~0.8)


def test_audio_file_errors_name_the_problem(mfcc, tmp_path):
    with pytest.raises(InputError, match=r"item 1: audio file not found: .*missing\.flac"):
        mfcc.encode([(np.zeros(1600, np.float32), 16000), tmp_path / "missing.flac"])
    with pytest.raises(InputError, match="audio file not found"):
        mfcc.encode([str(tmp_path / "missing.ogg")])
    midi = tmp_path / "song.mid"  # a format libsndfile does not read
    midi.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60")
    with pytest.raises(CorruptFileError, match=r"cannot read .*song\.mid as audio .*use wav, flac or ogg"):
        mfcc.encode([midi])
    notes = tmp_path / "notes.txt"
    notes.write_text("not a sound", "utf-8")
    with pytest.raises(CorruptFileError, match=r"cannot read .*notes\.txt as audio"):
        mfcc.encode([notes])
    with pytest.raises(InputError, match="is not a file"):
        mfcc.encode([tmp_path])
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, np.float32), 16000)
    with pytest.raises(InputError, match="holds no audio samples"):
        mfcc.encode([empty])


@pytest.mark.slow  # ~10-25 s on the shared 2-core machine (model load + per-clip inference)
def test_resemblyzer_same_voice_is_closer(clips):
    pytest.importorskip("resemblyzer")
    enc = embedlab.encoder("resemblyzer")
    names = ["speech_low_0", "speech_low_1", "speech_high_0", "speech_high_1"]
    a = enc.encode([clips[n] for n in names], batch_size=4)
    b = enc.encode([clips[n] for n in names], batch_size=1)
    assert a.shape == (4, 256)
    np.testing.assert_allclose(a, b, atol=1e-5)
    s = a @ a.T
    same = min(s[0, 1], s[2, 3])  # one voice, two different sentences
    cross = max(s[0, 2], s[0, 3], s[1, 2], s[1, 3])  # two voices (even saying the same sentence)
    assert same > cross + 0.05, np.round(s, 3)
    edge = enc.encode([(np.zeros(16000, np.float32), 16000), (np.full(300, 0.1, np.float32), 8000)])
    assert np.isfinite(edge).all()  # silence and a 40 ms clip do not break VAD or volume normalisation


@pytest.mark.slow  # ~10-25 s on the shared 2-core machine (model load + per-clip inference)
def test_aisfx_separates_sound_kinds(clips):
    pytest.importorskip("aisfx")
    enc = embedlab.encoder("aisfx")
    names = sorted(clips)
    vecs = enc.encode([clips[n] for n in names], batch_size=4)
    assert vecs.shape == (len(names), 512)
    np.testing.assert_allclose(vecs, enc.encode([clips[n] for n in names], batch_size=1), atol=1e-5)
    _assert_nearest_is_same_kind(vecs, names)
    edge = enc.encode([(np.zeros(16000, np.float32), 16000), (np.full(100, 0.1, np.float32), 8000)])
    assert np.isfinite(edge).all()
    spec = enc.spectrogram(np.zeros(44100, dtype=np.float32))
    assert spec.shape == (44, 96) and float(spec.max()) == 0.0  # silence stays silent (no divide by zero)


def test_wav2vec2_from_a_local_folder(tmp_path, clips):
    torch = pytest.importorskip("torch")
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    from embedlab.encoders.audio import Wav2Vec2Encoder

    with pytest.raises(ModelNotFoundError, match="needs a local model"):
        Wav2Vec2Encoder()
    with pytest.raises(ModelNotFoundError, match="config.json not found"):
        Wav2Vec2Encoder(tmp_path / "absent")
    torch.manual_seed(0)
    cfg = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=2, num_feat_extract_layers=2)
    Wav2Vec2Model(cfg).eval().save_pretrained(tmp_path / "w2v")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="no model.safetensors"):
        Wav2Vec2Encoder(tmp_path / "empty")
    enc = Wav2Vec2Encoder(tmp_path / "w2v")
    assert enc.dim == 32
    items = [clips["speech_low_0"], clips["tone_0"]]
    vecs = enc.encode(items, normalize=False)
    np.testing.assert_allclose(vecs, enc.encode(items, batch_size=1, normalize=False), atol=1e-5)
    from pathlib import Path

    from embedlab.encoders.media import load_audio

    wav = load_audio(Path(clips["tone_0"]), 16000)
    wav = (wav - wav.mean()) / np.sqrt(wav.var() + 1e-7)
    model = Wav2Vec2Model.from_pretrained(tmp_path / "w2v").eval()
    with torch.inference_mode():
        want = model(torch.from_numpy(wav)[None]).last_hidden_state[0].mean(0).numpy()
    np.testing.assert_allclose(vecs[1], want, rtol=1e-4, atol=1e-5)


def test_progress_bar_reports_items(mfcc, clips, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # bars show on a terminal only
    vecs = mfcc.encode([clips["tone_0"], clips["noise_0"], clips["tone_1"]], batch_size=2, progress=True)
    assert vecs.shape == (3, 248)
    err = capsys.readouterr().err
    assert "encode[mfcc]" in err and "3/3" in err
