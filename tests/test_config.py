"""Settings: a value that cannot take effect as written is refused with the setting's name."""

from __future__ import annotations

import pytest

from cxlens.config import load_settings
from cxlens.errors import ConfigError


@pytest.mark.parametrize(("identity", "says"), [
    ('{"limits": {"emial": 3}}', "identity.limits"),
    ('{"limits": {"email": 0}}', "identity.limits"),
    ('{"limits": {"email": -1}}', "identity.limits"),
])
def test_identity_limits_name_known_kinds_and_are_at_least_one(tmp_path, monkeypatch, identity, says) -> None:
    """A typo in a kind was kept and never applied; a limit below 1 was read as 1 without a word."""
    monkeypatch.setenv("CXLENS_IDENTITY", identity)
    with pytest.raises(ConfigError, match=says):
        load_settings(tmp_path)


def test_consent_defaults_for_one_purpose_keep_the_others(tmp_path, monkeypatch) -> None:
    """`{"marketing": true}` replaced the whole table: analytics fell to refused, and every event
    of a person who had stated no choice was anonymized (or dropped)."""
    monkeypatch.setenv("CXLENS_CONSENT_DEFAULTS", '{"marketing": true}')
    assert load_settings(tmp_path).consent_defaults == {
        "analytics": True, "personalization": False, "marketing": True}


def test_consent_defaults_name_known_purposes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CXLENS_CONSENT_DEFAULTS", '{"analytic": false}')
    with pytest.raises(ConfigError, match="consent_defaults.*analytic"):
        load_settings(tmp_path)


@pytest.mark.parametrize("priorities", ['["user_id", "emial"]', '["email", "user_id", "email"]'])
def test_identity_priorities_name_each_known_kind_once(tmp_path, monkeypatch, priorities) -> None:
    """A misspelt kind was kept, and the kind it meant silently fell below anonymous_id."""
    monkeypatch.setenv("CXLENS_IDENTITY", f'{{"priorities": {priorities}}}')
    with pytest.raises(ConfigError, match="identity.priorities"):
        load_settings(tmp_path)


def test_a_config_file_named_but_missing_is_an_error(tmp_path, monkeypatch) -> None:
    """CXLENS_CONFIG names the file on purpose: a typo in its path ran on defaults without a word."""
    monkeypatch.setenv("CXLENS_CONFIG", str(tmp_path / "cxlnes.toml"))
    with pytest.raises(ConfigError, match="CXLENS_CONFIG.*cxlnes.toml"):
        load_settings(tmp_path)


def test_bad_json_in_the_environment_names_the_variable(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CXLENS_IDENTITY", '{"limits": {')
    with pytest.raises(ConfigError, match="CXLENS_IDENTITY"):
        load_settings(tmp_path)


def test_a_data_dir_that_is_a_file_is_a_config_error(tmp_path, capsys) -> None:
    """Every command crashed on it with "unexpected error: FileExistsError ... this is a bug"."""
    from cxlens.cli.main import run

    not_a_dir = tmp_path / "shop"
    not_a_dir.write_text("")
    with pytest.raises(ConfigError, match="data_dir.*not a directory"):
        load_settings(not_a_dir)
    assert run(["learn", "--data-dir", str(not_a_dir)]) == ConfigError.exit_code
    assert "bug" not in capsys.readouterr().err


def test_an_identity_setting_in_the_environment_keeps_the_files_other_identity_settings(
        tmp_path, monkeypatch) -> None:
    """CXLENS_IDENTITY replaced the file's whole [identity] table: setting limits there dropped
    identifier_traits, so CRM ids stopped identifying anyone."""
    (tmp_path / "cxlens.toml").write_text(
        '[identity]\nidentifier_traits = ["crm_id"]\nlimits = {phone = 2}\n')
    monkeypatch.setenv("CXLENS_IDENTITY", '{"limits": {"email": 3}}')
    identity = load_settings(tmp_path).identity
    assert identity.identifier_traits == ("crm_id",)
    assert (identity.limits["phone"], identity.limits["email"]) == (2, 3)


def test_an_empty_environment_variable_counts_as_unset(tmp_path, monkeypatch) -> None:
    """`"" in "{["` is true, so every empty CXLENS_* variable (CXLENS_TRACKING_PLAN= cxlens ...)
    failed as "not valid JSON: Input is a zero-length, empty document"."""
    monkeypatch.setenv("CXLENS_TRACKING_PLAN", "")
    monkeypatch.setenv("CXLENS_PORT", " ")
    settings = load_settings(tmp_path)
    assert (settings.tracking_plan, settings.port) == (None, 8000)


def test_the_config_file_named_by_cxlens_config_may_set_the_data_dir(tmp_path, monkeypatch) -> None:
    """docs/configuration.md lists data_dir among the file's settings, but the file's value was
    always overwritten: the store went to ./cxlens-data instead."""
    config = tmp_path / "cxlens.toml"
    config.write_text(f'data_dir = "{tmp_path / "shop"}"\n')
    monkeypatch.setenv("CXLENS_CONFIG", str(config))
    assert load_settings().data_dir == tmp_path / "shop"
    assert load_settings(tmp_path / "flag").data_dir == tmp_path / "flag"  # the flag still wins
    monkeypatch.setenv("CXLENS_DATA_DIR", str(tmp_path / "env"))
    assert load_settings().data_dir == tmp_path / "env"
