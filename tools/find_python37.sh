#!/usr/bin/env bash
# Prints the path of a working Python 3.7 interpreter, or explains what to
# install and exits 1.  $PYTHON, when set, is the only candidate tried.
set -u

works() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 7) else 1)' \
    >/dev/null 2>&1
}

if [ -n "${PYTHON:-}" ]; then
  if works "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.7 interpreter" \
       "(TensorFlow 1.15 needs exactly Python 3.7)." >&2
  exit 1
fi

candidates=(python3.7)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for p in "$root"/versions/3.7*/bin/python3.7; do candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.7*/bin/python3.7 /usr/local/bin/python3.7 \
         /usr/bin/python3.7 /opt/python3.7/bin/python3.7; do
  candidates+=("$p")
done
for p in "${candidates[@]}"; do
  if works "$p"; then command -v "$p" 2>/dev/null || echo "$p"; exit 0; fi
done
cat >&2 <<'MSG'
error: no Python 3.7 found. TensorFlow 1.15 (this project's framework) only
installs on Python 3.7. Install it, e.g. `pyenv install 3.7.16`, or
`apt install python3.7 python3.7-venv`, then run `make setup` again, or point
at an interpreter with `make setup PYTHON=/path/to/python3.7`.
MSG
exit 1
