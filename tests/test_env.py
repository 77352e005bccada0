"""Environment switches are read once, at the edge (starlib.util.env, from Workspace.create and the command
line), and passed in: profile parsing, checkpoint loading and a workspace given values ignore the environment."""

from __future__ import annotations

import pytest

from starlib.models.checkpoint import MAX_PARAMETERS
from starlib.study.setup.profile import load_profile
from starlib.study.setup.workspace import Workspace
from starlib.util import env
from starlib.util.config import ConfigError


def test_the_readers_take_the_environment_as_a_mapping():
    assert env.shipped_scores_enabled({}) and env.shipped_scores_enabled({env.SHIPPED_SCORES: "1"})
    assert not env.shipped_scores_enabled({env.SHIPPED_SCORES: "0"})
    assert env.max_parameters(123, {}) == 123
    assert env.max_parameters(123, {env.MAX_PARAMETERS: "1e9"}) == 10**9
    assert env.max_parameters(123, {env.MAX_PARAMETERS: "2_000"}) == 2000
    for bad in ("0", "-5", "1.5", "lots"):
        with pytest.raises(ConfigError, match=rf"\$STARLIB_MAX_PARAMETERS='{bad}' is not a positive whole number"):
            env.max_parameters(123, {env.MAX_PARAMETERS: bad})


def test_a_workspace_given_its_switches_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(env.SHIPPED_SCORES, "0")
    monkeypatch.setenv(env.MAX_PARAMETERS, "1000")                   # far below the smoke network
    ws = Workspace.create("smoke", cache_dir=tmp_path, shipped_scores=True, max_parameters=10**9)
    assert ws.shipped_scores and ws.max_parameters == 10**9
    assert ws.scores.shipped is not None                              # seeded from the shipped scores


def test_a_workspace_without_them_reads_the_environment_at_creation(monkeypatch, tmp_path):
    monkeypatch.setenv(env.SHIPPED_SCORES, "0")
    ws = Workspace.create("smoke", cache_dir=tmp_path)
    assert not ws.shipped_scores and ws.max_parameters == MAX_PARAMETERS
    monkeypatch.delenv(env.SHIPPED_SCORES)
    assert ws.scores.shipped is None                                  # a field now: the environment is not read again
    monkeypatch.setenv(env.MAX_PARAMETERS, "1000")
    with pytest.raises(ConfigError, match=r"smoke.toml \[model\].*above the bound of 0.0 M"):
        Workspace.create("smoke", cache_dir=tmp_path)


def test_profile_parsing_does_not_read_the_environment(monkeypatch):
    monkeypatch.setenv(env.MAX_PARAMETERS, "1000")
    assert load_profile("smoke").name == "smoke"                      # the default bound, whatever the environment
    with pytest.raises(ConfigError, match=r"above the bound of 0.0 M"):
        load_profile("smoke", max_parameters=1000)
