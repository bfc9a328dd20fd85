"""Every head-side script ships with the package: a file that package-data does not name is
missing from a wheel (an editable install hides that)."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "jobwaiter"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is python 3.11+")
def test_package_data_names_every_script() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["jobwaiter"]
    scripts = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.sh"))
    assert scripts, "no scripts found"
    missing = [s for s in scripts if not any(fnmatch.fnmatch(s, p) for p in patterns)]
    assert missing == [], f"not in package-data: {missing}"
