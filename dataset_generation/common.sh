# Shared helpers of the dataset scripts (sourced, not run).
#
# The scripts work from any directory. The dataset root is, in order: the
# first argument, $DATASET_ROOT, or <repo>/../dataset. The Python interpreter
# is $PYTHON, else <repo>/.venv/bin/python, else python3.

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$SCRIPT_DIR")"

die() {
  echo "error: $*" >&2
  exit 1
}

# dataset_root [ARG]: absolute dataset root, created if needed.
dataset_root() {
  local root="${1:-${DATASET_ROOT:-$REPO_DIR/../dataset}}"
  mkdir -p "$root" || die "cannot create dataset root $root"
  (cd "$root" && pwd)
}

python_bin() {
  if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
  elif [ -x "$REPO_DIR/.venv/bin/python" ]; then
    echo "$REPO_DIR/.venv/bin/python"
  else
    echo python3
  fi
}

# run_module MODULE ARGS...: python -m dataset_generation.MODULE ARGS...
run_module() {
  local module="$1"
  shift
  PYTHONPATH="$REPO_DIR${PYTHONPATH:+:$PYTHONPATH}" \
    "$(python_bin)" -m "dataset_generation.$module" "$@"
}

# download URL FILE: fetches URL into FILE unless FILE is already there.
download() {
  local url="$1" file="$2"
  if [ -s "$file" ]; then
    echo "found $file, download skipped"
    return 0
  fi
  echo "downloading $url -> $file"
  if command -v wget >/dev/null 2>&1; then
    wget -q --show-progress -O "$file.part" "$url" || {
      rm -f "$file.part"; die "download of $url failed; place the file at $file yourself"; }
  elif command -v curl >/dev/null 2>&1; then
    curl -fL -o "$file.part" "$url" || {
      rm -f "$file.part"; die "download of $url failed; place the file at $file yourself"; }
  else
    die "neither wget nor curl is installed; download $url to $file yourself"
  fi
  mv "$file.part" "$file"
}

# require_path PATH WHAT: stops with a message when PATH is missing.
require_path() {
  local path="$1" what="$2"
  [ -e "$path" ] || die "missing $path: $what"
}

usage_if_help() {
  case "${1:-}" in
    -h|--help)
      sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
  esac
}
