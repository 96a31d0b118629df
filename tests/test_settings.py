from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings


def test_defaults_need_nothing_set():
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("referrals.db")
    assert not settings.smtp_configured
    assert settings.referral_email_to == "referrals@localhost"  # the mail drop, never a real team mailbox


def test_smtp_without_a_referral_mailbox_is_refused():
    with pytest.raises(ConfigError, match="REFERRAL_EMAIL_TO"):
        load_settings({"SMTP_HOST": "smtp.example.org"})
    assert load_settings({"SMTP_HOST": "smtp.example.org", "REFERRAL_EMAIL_TO": "staff@example.org"}).smtp_configured


def test_secrets_are_masked():
    settings = load_settings({"SMTP_PASSWORD": "s3cret-real", "DATABASE_URL": "postgresql://u:pw@db/x"})
    masked = settings.masked()
    assert masked["smtp_password"] == "***"
    assert "pw" not in masked["database_url"] and "s3cret" not in str(masked)


@pytest.mark.parametrize("env, name", [
    ({"SMTP_PORT": "twenty-five"}, "SMTP_PORT"),
    ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
    ({"REFERRAL_EMAIL_TO": "staff@example.org\r\nBcc: x@example.org"}, "REFERRAL_EMAIL_TO"),
    ({"SMTP_PASSWORD": "change-me"}, "SMTP_PASSWORD"),
])
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_var_dir_moves_every_default_path(tmp_path: Path):
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path)})
    assert str(tmp_path) in settings.database_url and settings.mail_drop_dir == tmp_path / "mail"


def test_env_example_documents_every_variable_and_loads_cleanly():
    import re

    from dotenv import dotenv_values

    from tests.support import ROOT

    source = (ROOT / "bot" / "settings.py").read_text()
    # Where the files are, not what is in them: set in the environment, never in .env (see the README).
    read = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', source)) - {"COSP_VAR_DIR", "COSP_ENV_FILE"}
    documented = dotenv_values(ROOT / ".env.example")
    assert read - set(documented) == set()
    load_settings({k: v for k, v in documented.items() if v})  # the example itself is valid


def test_the_env_file_read_is_the_one_cosp_env_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The tests name /dev/null, so a deployer's `.env` with a real SMTP server is never read by them."""
    from bot.settings import load_dotenv

    env_file = tmp_path / "elsewhere.env"
    env_file.write_text("SMTP_HOST=smtp.example.org\n")
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.setenv("COSP_ENV_FILE", str(env_file))
    load_dotenv()
    assert load_settings().smtp_host == "smtp.example.org"

    monkeypatch.delenv("SMTP_HOST")
    monkeypatch.setenv("COSP_ENV_FILE", "/dev/null")
    load_dotenv()
    assert load_settings().smtp_host is None
