#!/usr/bin/env bash
# Runs the shell commands of README.md as a user of a fresh clone types them:
# every line of every ```sh block, verbatim and in order, in one bash at the
# root of the checkout (so that `export` and `cd` carry over from line to
# line, and relative paths such as data/flights.csv.gz mean what they say).
#
# A command that CI runs in another step, or does not run at all, is listed
# below with where or why; for the former this script checks that the file
# named runs the same command, verbatim. Every other line must succeed
# (set -euo pipefail). The files the commands create (databases, hello,
# prefix/, ...) are removed at the end: whatever is untracked or ignored
# afterwards and was not before.
#
#   scripts/readme.sh            run them
#   scripts/readme.sh --list     print the commands and what happens to each
set -euo pipefail
cd "$(dirname "$0")/.."

# Run by another step of .ci/run (checked: the file contains the line).
declare -A elsewhere=(
  ["cargo test --workspace"]=.ci/run
  ["cargo run --release --example weather_station"]=.ci/run
  ["cargo run --manifest-path bench/Cargo.toml -- --scale 0.001"]=.ci/run
  ["cargo install cargo-c --version 0.10.24 --locked"]=.ci/run
)
# Not run in CI, and why.
declare -A not_in_ci=(
  ["cargo run --release --manifest-path bench/Cargo.toml"]="the full benchmark run (about 10 minutes; docs/BENCHMARKS.md)"
  ["bench/flights.sh"]="a benchmark against the sqlite3 shell (docs/BENCHMARKS.md)"
)

# The commands: the lines of the ```sh blocks, with their comments.
commands=()
in_block=0
while IFS= read -r line; do
  if [[ $in_block == 0 && $line == '```sh' ]]; then
    in_block=1
  elif [[ $in_block == 1 && $line == '```' ]]; then
    in_block=0
  elif [[ $in_block == 1 && -n ${line//[[:space:]]/} && ! $line =~ ^[[:space:]]*# ]]; then
    commands+=("$line")
  fi
done <README.md
[[ $in_block == 0 ]] || { echo "readme.sh: README.md ends inside a sh block" >&2; exit 1; }
[[ ${#commands[@]} -gt 0 ]] || { echo "readme.sh: no sh block in README.md" >&2; exit 1; }

# The command without its trailing comment (two spaces or more, then #).
bare() {
  local c
  c=$(sed -E 's/[[:space:]]{2,}#.*$//' <<<"$1")
  printf '%s' "${c%"${c##*[![:space:]]}"}"
}

script=$(mktemp)
trap 'rm -f "$script"' EXIT
{
  echo 'set -euo pipefail'
  echo 'set -x'
} >"$script"
run=0
for c in "${commands[@]}"; do
  b=$(bare "$c")
  if [[ -n ${elsewhere[$b]+x} ]]; then
    where=${elsewhere[$b]}
    grep -qF -- "$b" "$where" || { echo "readme.sh: README's \`$b\` is said to run in $where, which does not contain it" >&2; exit 1; }
    echo "runs in $where: $b"
  elif [[ -n ${not_in_ci[$b]+x} ]]; then
    echo "not run in CI ($b): ${not_in_ci[$b]}"
  else
    echo "runs here: $c"
    printf '%s\n' "$c" >>"$script"
    run=$((run + 1))
  fi
done
[[ ${1:-} == --list ]] && exit 0

# Untracked and ignored paths (databases are ignored by .gitignore).
untracked() {
  git status --porcelain --untracked-files=normal --ignored 2>/dev/null | sed -n 's/^?? //p; s/^!! //p' | grep -v 'target/$' | sort || true
}
before=$(untracked)
cleanup() {
  local after new
  after=$(untracked)
  new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
  if [[ -n $new ]]; then
    echo "readme.sh: removing what the commands created: $(tr '\n' ' ' <<<"$new")"
    while IFS= read -r f; do rm -rf -- "$f"; done <<<"$new"
  fi
  rm -f "$script"
}
trap cleanup EXIT
started=$SECONDS
bash "$script"
echo "readme.sh: the README's $run commands ran; $((SECONDS - started)) s"
