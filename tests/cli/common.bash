# Sourced by every tests/cli/*.sh: strict mode, the repository root as the working directory,
# $cubist (the binary under test: $CUBIST, else build/cubist, as an absolute path), a scratch
# folder $tmp removed on exit, fail MESSAGE, which names the script, and expect_failure WORDS
# COMMAND...
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

# $1: the words the error must hold; the rest: the command, which must fail (its output in
# $tmp/out.log).
expect_failure() {
  local want=$1 status=0
  shift
  "$@" > "$tmp/out.log" 2>&1 || status=$?
  [[ $status -ne 0 ]] || { cat "$tmp/out.log"; fail "$* should have failed"; }
  grep -q -- "$want" "$tmp/out.log" || { cat "$tmp/out.log"; fail "$*: no '$want' in its error"; }
}
