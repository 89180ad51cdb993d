"""A missing dependency's message names a fix that works: for every registered encoder, each module it requires is
installed by the pip command its message prints, according to pyproject.toml (distribution names mapped to import
names through importlib.metadata) and scripts/requirements-nodeps.txt."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from embedlab.encoders import registry
from embedlab.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
NAME = PYPROJECT["name"]


def _canonical(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


_TOP_LEVEL: dict[str, set[str]] = {}
for _module, _dists in md.packages_distributions().items():
    for _d in _dists:
        _TOP_LEVEL.setdefault(_canonical(_d), set()).add(_module)


def import_names(requirement: str) -> set[str]:
    """Top-level modules a requirement line installs (its distribution's, or the name itself when not installed)."""
    dist = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group(0)
    return _TOP_LEVEL.get(_canonical(dist), {dist.replace("-", "_").lower()})


def requirements(extras: tuple[str, ...]) -> list[str]:
    """Requirement lines of the core plus ``extras`` (an extra that names ``embedlab[...]`` is followed)."""
    out = list(PYPROJECT["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        assert extra in PYPROJECT["optional-dependencies"], f"pyproject.toml has no extra [{extra}]"
        for req in PYPROJECT["optional-dependencies"][extra]:
            inner = re.fullmatch(rf"{NAME}\[([^\]]+)\]", req.strip())
            if inner:
                todo += [e.strip() for e in inner.group(1).split(",")]
            else:
                out.append(req)
    return out


def nodeps_pins() -> dict[str, str]:
    lines = (ROOT / "scripts" / "requirements-nodeps.txt").read_text("utf-8").splitlines()
    pins = [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]
    return {_canonical(re.match(r"[A-Za-z0-9._-]+", p).group(0)): p for p in pins}


def provided_by(command: str) -> set[str]:
    """Import names installed by a message's command: ``pip install 'embedlab[a,b]'`` / ``pip install embedlab``
    and ``pip install --no-deps pkg==v ...`` (each pin must be the one scripts/requirements-nodeps.txt installs)."""
    names: set[str] = set()
    m = re.search(rf"pip install '{NAME}\[([^\]]+)\]'", command)
    if m or re.search(rf"pip install {NAME}\b", command):
        extras = tuple(e.strip() for e in m.group(1).split(",")) if m else ()
        for req in requirements(extras):
            names |= import_names(req)
    m = re.search(r"pip install --no-deps ([^&]+)", command)
    if m:
        pins = nodeps_pins()
        for pin in m.group(1).split():
            dist = _canonical(pin.split("==")[0])
            assert pins.get(dist) == pin, f"{pin} is not what scripts/requirements-nodeps.txt installs"
            names |= import_names(pin)
    return names


SPECS = registry.available(installed_only=False)


def test_every_encoder_is_checked():
    assert len(SPECS) >= 12 and {"clip", "use-multilingual", "glove-50", "wav2vec2"} <= {s.name for s in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_missing_dependency_message_names_a_fix_that_provides_every_module(spec, monkeypatch):
    """Pretend every required module is missing, read the message encoder() raises, and check its command."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in spec.requires else real(name, *a))
    with pytest.raises(MissingDependencyError) as exc:
        registry.encoder(spec.name)
    message = str(exc.value)
    assert message.startswith(f"encoder {spec.name!r} needs {', '.join(spec.requires)}; install it with: pip")
    command = message.split("install it with: ", 1)[1]
    lacking = [m for m in spec.requires if m not in provided_by(command)]
    assert not lacking, f"{spec.name}: {command!r} does not install {lacking}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_named_extra_exists_and_is_needed(spec):
    """Extras are real pyproject extras, and none is named without a module it alone provides."""
    core = {n for req in PYPROJECT["dependencies"] for n in import_names(req)}
    for extra in spec.extras():
        assert extra in PYPROJECT["optional-dependencies"], f"{spec.name}: no extra [{extra}] in pyproject.toml"
        rest = tuple(e for e in spec.extras() if e != extra)
        others = core | {n for req in requirements(rest) for n in import_names(req)} | set(registry.NO_DEPS)
        assert set(spec.requires) - others, f"{spec.name}: [{extra}] is named but adds nothing it requires"


def test_the_nodeps_table_matches_the_install_script():
    pins = nodeps_pins()
    for module, pin in registry.NO_DEPS.items():
        assert pins.get(_canonical(pin.split("==")[0])) == pin, module


def test_clip_names_both_extras():
    """The reported bug: clip needs transformers ([text]) and pillow ([image]); [image] alone was named."""
    clip = registry.spec("clip")
    assert clip.install_command() == "pip install 'embedlab[text,image]'"
    assert "transformers" in provided_by(clip.install_command())
