#!/usr/bin/env bash
# Picks the environment a make target runs in when TF= is not given, and
# says which on stderr. Prints 1 (.venv, TensorFlow 1.15.5 on Python 3.7,
# the reference) or 2 (.venv-tf2, TensorFlow 2.x); exits 1 when neither
# exists nor can be built.
#
#   bash tools/pick_env.sh reference|fast TARGET
#
# reference (make test): .venv when it exists or a Python 3.7 can build it,
# else .venv-tf2. fast (make demo): the other way round.
set -u
order=$1
target=$2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

available() {  # available 1|2: the environment exists or can be built
  if [ "$1" = 1 ]; then
    [ -x "$repo/.venv/bin/python" ] || bash "$here/find_python37.sh" >/dev/null 2>&1
  else
    [ -x "$repo/.venv-tf2/bin/python" ] || bash "$here/find_python_tf2.sh" >/dev/null 2>&1
  fi
}

describe() {
  if [ "$1" = 1 ]; then echo ".venv (TensorFlow 1.15.5, the reference)"
  else echo ".venv-tf2 (TensorFlow 2.x)"; fi
}

why_not() {
  if [ "$1" = 1 ]; then echo "no Python 3.7 for TensorFlow 1.15"
  else echo "no Python 3.9-3.12 for TensorFlow 2.x"; fi
}

if [ "$order" = reference ]; then first=1 second=2; else first=2 second=1; fi
if available "$first"; then
  echo "make $target: using $(describe "$first") (TF=$second picks the other)" >&2
  echo "$first"
elif available "$second"; then
  echo "make $target: using $(describe "$second"): $(why_not "$first")" >&2
  echo "$second"
else
  echo "error: make $target needs Python 3.7 (TensorFlow 1.15) or Python 3.9-3.12 (TensorFlow 2.x); found neither. Install one, e.g. \`pyenv install 3.12\`, or name it with PYTHON=/path/to/python" >&2
  exit 1
fi
