# Sourced by every tests/cli/*.sh: strict mode, the repository root as the working directory,
# $cubist (the binary under test: $CUBIST, else build/cubist, as an absolute path), a scratch
# folder $tmp removed on exit, and fail MESSAGE, which names the script.
set -euo pipefail
root="$(realpath "$(dirname "${BASH_SOURCE[0]}")/../..")"
cubist="$(realpath "${CUBIST:-$root/build/cubist}")"  # before cd: $CUBIST may be relative
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "$(basename "$0"): $*"
  exit 1
}
