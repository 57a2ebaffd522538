#!/usr/bin/env bash
# The browser test: installs Chromium, its driver, a CJK font and ffmpeg (the test makes its video
# clip) from Debian, and Selenium and axe-selenium-python (axe-core's rules, run from the test
# side) from PyPI when missing, then runs Tests/Browser/test_live_room.py against a server binary
# (HOMETOWN_BIN, default .build/release/hometown). Screenshots go to HOMETOWN_ARTIFACTS.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
for package in chromium chromium-driver fonts-wqy-microhei ffmpeg; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c "import selenium" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check selenium
python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check pytest
python3 -c "import axe_selenium_python" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check axe-selenium-python
export HOMETOWN_BIN="${HOMETOWN_BIN:-$PWD/.build/release/hometown}"
export HOMETOWN_ARTIFACTS="${HOMETOWN_ARTIFACTS:-/tmp/hometown-artifacts}"
timeout 600 python3 -m pytest -q Tests/Browser/test_live_room.py
echo "screenshots: $HOMETOWN_ARTIFACTS"
