"""The last line of ``make test`` names the system packages whose absence skipped tests."""

from __future__ import annotations

from collections import Counter

from testing import system


def test_skip_reasons_are_counted_per_package():
    reasons = [system.reason(["mosquitto"]), system.reason(["mosquitto"]),
               "not Debian's Python: " + system.reason(["python3-venv", "python3-numpy"]),
               "Mosquitto's ACL file cannot pin a user's client id"]  # not about a package
    assert system.skipped_for(reasons) == Counter(
        {"mosquitto": 2, "python3-venv": 1, "python3-numpy": 1})


def test_the_line_names_each_missing_package_or_says_none():
    line = system.summary_line(Counter({"chromium": 20, "mosquitto": 3}))
    assert "chromium (20 tests), mosquitto (3 tests)" in line and "README" in line
    assert "none missing" in system.summary_line(Counter())


def test_every_package_the_tests_need_is_in_the_ci_list():
    listed = {line.strip() for line in (system.ROOT / ".ci" / "apt-packages").read_text()
              .splitlines() if line.strip() and not line.startswith("#")}
    assert set(system.PRESENT) <= listed
