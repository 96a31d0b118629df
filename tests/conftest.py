import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_model: needs the trained model (models/cosp.tar.gz)")
