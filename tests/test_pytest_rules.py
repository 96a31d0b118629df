"""The suite's own rules: a mistyped marker is an error, and under CI a skipped test fails."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A small suite under this project's pytest.ini and conftest."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeini((ROOT / "pytest.ini").read_text().replace("testpaths = tests\n", ""))
    pytester.makeconftest("from tests.conftest import *  # noqa: F401,F403\nfrom tests.conftest import pytest_runtest_makereport, pytest_configure  # noqa: F401\n")
    pytester.makepyfile(test_sample="""
        import pytest

        def test_runs():
            assert True

        @pytest.mark.skipif(True, reason="needs the trained model")
        def test_skipped():
            assert True

        @pytest.mark.xfail(reason="known", strict=True)
        def test_expected_to_fail():
            assert False
    """)
    return pytester


def test_a_skip_passes_for_a_developer_and_fails_under_ci(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    suite.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1, skipped=1, xfailed=1)

    monkeypatch.setenv("CI", "true")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 1 and "skipped" not in outcomes  # a skip at set-up shows as an error
    result.stdout.fnmatch_lines(["*skipped under CI*needs the trained model*"])


def test_an_unknown_marker_is_an_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_typo="""
        import pytest

        @pytest.mark.needs_modle
        def test_typo():
            assert True
    """)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "test_typo.py")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'needs_modle' not found in `markers` configuration option*"])
