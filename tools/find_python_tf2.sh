#!/usr/bin/env bash
# Prints the path of the newest working Python 3.9-3.12 interpreter (for the
# TensorFlow 2.x environment, `make setup TF=2`), or explains what to install
# and exits 1.  $PYTHON, when set, is the only candidate tried.
set -u

# Prints "MINOR PATH" when $1 runs and is Python 3.9-3.12.
minor_of() {
  local minor
  minor=$("$1" -c 'import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else -1)' 2>/dev/null) || return 1
  [ "$minor" -ge 9 ] 2>/dev/null && [ "$minor" -le 12 ] || return 1
  echo "$minor"
}

if [ -n "${PYTHON:-}" ]; then
  if minor_of "$PYTHON" >/dev/null; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.9-3.12 interpreter" \
       "(the TensorFlow 2.x environment needs one of 3.9, 3.10, 3.11, 3.12)." >&2
  exit 1
fi

candidates=()
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for p in "$root"/versions/3.*/bin/python3; do candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.*/bin/python3; do candidates+=("$p"); done
for v in 12 11 10 9; do candidates+=("python3.$v"); done
candidates+=(python3)

best=""
best_minor=-1
for p in "${candidates[@]}"; do
  minor=$(minor_of "$p") || continue
  if [ "$minor" -gt "$best_minor" ]; then
    best=$(command -v "$p" 2>/dev/null || echo "$p")
    best_minor=$minor
  fi
done
if [ -n "$best" ]; then echo "$best"; exit 0; fi
cat >&2 <<'MSG'
error: no Python 3.9-3.12 found for the TensorFlow 2.x environment. Install
one, e.g. `pyenv install 3.12`, or `apt install python3.12 python3.12-venv`,
then run `make setup TF=2` again, or point at an interpreter with
`make setup TF=2 PYTHON=/path/to/python3.12`.
MSG
exit 1
