"""Profiles (``smoke``, ``cpu``, ``paper``) are TOML data files in ``starlib/profiles/``, not code branches."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlib.models.config import STARConfig

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


@dataclass(frozen=True)
class Profile:
    """A named set of settings. ``model`` is the STARConfig of the profile's main network."""

    name: str
    description: str
    model: STARConfig
    sections: dict[str, Any] = field(default_factory=dict)


def load_profile(name: str) -> Profile:
    """Read ``starlib/profiles/<name>.toml``; unknown names raise with the list of known ones."""
    path = PROFILE_DIR / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"unknown profile {name!r}; choose one of {available_profiles()} "
                         f"(files in {PROFILE_DIR})")
    with path.open("rb") as f:
        data = tomllib.load(f)
    try:
        model = STARConfig.paper(**data.get("model", {}))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: bad [model] table: {exc}") from exc
    rest = {k: v for k, v in data.items() if k not in ("model", "description")}
    return Profile(name=name, description=data.get("description", ""), model=model, sections=rest)
