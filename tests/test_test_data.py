"""Real-photo tests skip with their reason in a bare clone, and fail where CI requires them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT, REQUIRE_TEST_DATA


def run_photo_test(tmp_path, require: bool) -> subprocess.CompletedProcess:
    test = tmp_path / "test_needs_photos.py"
    test.write_text("def test_needs_photos(flowers_dir):\n    assert flowers_dir.is_dir()\n")
    env = {**os.environ, "PHOTO_SEARCH_TEST_DATA": str(tmp_path / "nowhere")}
    env.pop(REQUIRE_TEST_DATA, None)
    if require:
        env[REQUIRE_TEST_DATA] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", str(test), "-rs"]
    command += ["-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_missing_photos_skip_with_the_reason(tmp_path):
    result = run_photo_test(tmp_path, require=False)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert f"real test photos not found at {tmp_path / 'nowhere' / 'flowers60'}" in result.stdout


def test_missing_photos_fail_where_they_are_required(tmp_path):
    result = run_photo_test(tmp_path, require=True)
    assert result.returncode == 1, result.stdout
    assert f"{REQUIRE_TEST_DATA}=1 requires them" in result.stdout
