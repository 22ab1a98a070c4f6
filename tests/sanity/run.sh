#!/usr/bin/env bash
# ansible-test sanity, offline-capable: ansible-test needs the collection under
# ansible_collections/<namespace>/<name> and lists files with git, and it fetches a
# pip bootstrap script from a CI file server that is unreachable here. So: copy the
# tree into a git-initialised ansible_collections/mlops/platform under .cache, put
# our own bootstrap (tests/sanity/pip_bootstrap.py) where ansible-test caches its
# download, and run every sanity test (requirements come from PyPI).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv}
py=$venv/bin/python
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pipver=$("$py" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/sanity/pip_bootstrap.py" "$HOME/.ansible/test/cache/get_pip_${pipver//./_}.py"

dest=$root/.cache/sanity/ansible_collections/mlops/platform
rm -rf "$dest"
mkdir -p "$dest"
(cd "$root" && tar -c --exclude=./.venv --exclude=./.cache --exclude=./.git --exclude=./tests/output \
   --exclude=./.ansible --exclude=__pycache__ --exclude=.pytest_cache .) | tar -x -C "$dest"
cd "$dest"
git init -q
git add -A
git -c user.name=sanity -c user.email=sanity@localhost commit -qm snapshot
exec "$venv/bin/ansible-test" sanity --python "$pyver" --color no "$@"
