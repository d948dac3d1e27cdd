"""``settings:``: a plugin's own block in the policy, validated by the plugin, never ignored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from gatekeeper import PolicyError, Verdict, load_plugins, load_policy
from gatekeeper.policy import ResolvedPolicy
from gatekeeper.testing import run_gate


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = "#builds"
    retries: int = Field(default=1, ge=0)


class Notify:
    """An in-process plugin (registered as an instance, named by ``__name__``) that validates its
    settings on load and reads them when the verdict is ready."""

    __name__ = "notify"
    seen: ClassVar[list[tuple[Verdict, NotifySettings]]] = []

    @staticmethod
    def gatekeeper_policy_loaded(policy: ResolvedPolicy) -> None:
        policy.plugin_settings("notify", NotifySettings)

    @staticmethod
    def gatekeeper_verdict_ready(verdict: Verdict, policy: ResolvedPolicy) -> None:
        Notify.seen.append((verdict, policy.plugin_settings("notify", NotifySettings)))


POLICY = """
version: 1
plugins: ["{fake}"]
settings:
  notify:
    channel: "#releases"
checks: {c: {uses: fake, with: {inputs: []}}}
rules: [{id: r, check: c, require: ["x == 0"]}]
"""


FAKE = Path(__file__).parents[1] / "data" / "plugins" / "fake_checkers.py"


def _load(path: Path, *, disabled: tuple[str, ...] = ()) -> ResolvedPolicy:
    """As ``load_policy`` does, plus the in-process ``Notify`` plugin."""
    plugins = load_plugins([FAKE], entry_points=False, extra=[Notify()], disabled=disabled)
    return load_policy(path, plugins=plugins, disabled_plugins=disabled)


def test_a_plugin_reads_its_settings_when_the_verdict_is_ready(write_policy: Any, repo: Path) -> None:
    Notify.seen.clear()
    policy = _load(write_policy(POLICY))
    assert policy.plugin_settings("notify", NotifySettings) == NotifySettings(channel="#releases")
    verdict = run_gate(policy, repo)
    assert [(v.outcome, s.channel) for v, s in Notify.seen] == [(verdict.outcome, "#releases")]


def test_settings_are_part_of_the_digest(write_policy: Any) -> None:
    first = _load(write_policy(POLICY))
    second = _load(write_policy(POLICY.replace("#releases", "#builds")))
    assert first.digest != second.digest


def test_a_bad_block_is_a_policy_error_with_its_line(write_policy: Any) -> None:
    path = write_policy(POLICY.replace('channel: "#releases"', "retries: -1"))
    with pytest.raises(
        PolicyError, match=r"gatekeeper\.yaml:6:\d+: settings\.notify\.retries: .*greater than or equal to 0"
    ):
        _load(path)


def test_an_unknown_key_in_a_block_suggests_the_right_one(write_policy: Any) -> None:
    path = write_policy(POLICY.replace('channel: "#releases"', 'chanel: "#x"'))
    with pytest.raises(PolicyError, match=r"settings\.notify\.chanel: unknown key \(did you mean 'channel'\?\)"):
        _load(path)


def test_settings_for_a_plugin_that_is_not_loaded_are_refused(write_policy: Any) -> None:
    path = write_policy(POLICY.replace("  notify:", "  notfy:"))
    with pytest.raises(
        PolicyError,
        match=r"gatekeeper\.yaml:5:\d+: settings\.notfy: no plugin named 'notfy' is loaded; did you mean 'notify'\?",
    ):
        _load(path)


def test_settings_for_a_disabled_plugin_are_accepted(write_policy: Any) -> None:
    path = write_policy(POLICY.replace("  notify:", "  webhook:"))
    policy = _load(path, disabled=("webhook",))
    assert policy.policy.settings == {"webhook": {"channel": "#releases"}}


def test_a_child_replaces_a_plugins_whole_block(write_policy: Any, repo: Path) -> None:
    write_policy(POLICY.replace('channel: "#releases"', 'channel: "#base"\n    retries: 5'), name="base.yaml")
    child = write_policy('version: 1\nextends: base.yaml\nsettings:\n  notify:\n    channel: "#child"\n')
    policy = _load(child)
    assert policy.plugin_settings("notify", NotifySettings) == NotifySettings(channel="#child", retries=1)


def test_a_policy_without_settings_keeps_the_digest_it_had_before_settings_existed(write_policy: Any) -> None:
    policy = _load(write_policy(POLICY.replace('settings:\n  notify:\n    channel: "#releases"\n', "")))
    assert "settings" not in json.loads(policy.canonical_json())
    with_block = _load(write_policy(POLICY))
    assert json.loads(with_block.canonical_json())["settings"] == {"notify": {"channel": "#releases"}}


def test_an_in_process_plugin_can_be_given_the_name_its_settings_use(write_policy: Any) -> None:
    path = write_policy(POLICY.replace("  notify:", "  chat:"))
    plugins = load_plugins([FAKE], entry_points=False, extra=[("chat", Notify())])
    assert plugins.infos[-1].name == "chat" and plugins.infos[-1].source == "in-process"
    assert load_policy(path, plugins=plugins).policy.settings == {"chat": {"channel": "#releases"}}


def test_an_in_process_plugin_already_registered_is_not_registered_twice() -> None:
    notify = Notify()
    plugins = load_plugins(entry_points=False, extra=[notify, ("again", notify)])
    assert [info.name for info in plugins.infos if info.source == "in-process"] == ["notify"]
