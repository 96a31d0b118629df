from pathlib import Path

import pytest

from bot.settings import Settings, load_settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_model: needs the trained model (models/cosp.tar.gz)")
    config.addinivalue_line("markers", "prod: the production fault tests (make test-prod: PostgreSQL, Redis, nginx)")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests that build staff messages: everything under tmp_path, example addresses."""
    return load_settings(
        {
            "COSP_VAR_DIR": str(tmp_path / "var"),
            "REFERRAL_EMAIL_TO": "cosp.team@example.nhs.uk",
            "REFERRAL_EMAIL_FROM": "cosp-assistant@example.nhs.uk",
        }
    )
