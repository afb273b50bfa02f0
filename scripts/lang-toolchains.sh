#!/usr/bin/env bash
# Install the pinned Python and JavaScript component toolchains into this
# checkout (lang/python/.venv and lang/js/node_modules, both ignored by git):
# componentize-py from PyPI, componentize-js (with jco) from npm, at the
# versions gatehouse pins (lang/python/requirements.txt,
# lang/js/package-lock.json). Does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

py=lang/python/.venv/bin/componentize-py
want_py=$(sed -n 's/^componentize-py==//p' lang/python/requirements.txt)
if [ "$("$py" --version 2>/dev/null | awk '{print $2}')" != "$want_py" ]; then
    rm -rf lang/python/.venv
    python3 -m venv lang/python/.venv
    lang/python/.venv/bin/pip install --quiet --disable-pip-version-check -r lang/python/requirements.txt
fi
"$py" --version

js=lang/js/node_modules/.bin/componentize-js
if [ "$("$js" --version 2>/dev/null)" != "0.23.0" ]; then
    (cd lang/js && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "componentize-js $("$js" --version)"
