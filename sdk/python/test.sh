#!/usr/bin/env bash
# Runs the Python SDK's unit tests with the host's python3, then checks the
# SDK's type annotations with mypy (strict, for Python 3.10; installed from
# PyPI through examples/tools.sh on first use). From the repository's root:
#
#   sdk/python/test.sh
#
# Arguments go to `python3 -m unittest`, e.g. `-v` or `-k actions`.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
. "$here/../../examples/tools.sh"
mypy="$(tools_mypy)"

cd "$here"
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest "$@"
# mypy reads its settings from pyproject.toml; its cache stays outside the
# repository.
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$mypy" python3 -m mypy \
    --cache-dir "$WARRANT_TOOLS/mypy-cache" warrant_sdk
