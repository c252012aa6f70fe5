#!/usr/bin/env bash
# Regenerates the README's pictures from a real main job: runs `neotune run` in a 120×10 tmux
# window, captures the terminal once the run is about half done, then draws that capture and the
# run's report into docs/. Prints the main job's wall time. Needs tmux (apt-get install tmux).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
session=neotune-images-$$
started=$(date +%s)
tmux new-session -d -s "$session" -x 120 -y 10 \
  "bash scripts/with-display.sh node dist/scripts/neotune.js run -o $out; echo \$? > $out/exit; sleep 600"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
captured=
while [ ! -f "$out/exit" ]; do
  sleep 2
  pane=$(tmux capture-pane -p -t "$session")
  # The whole-run bar shows "NN%": capture once it passes 40 %, in the measuring or tuning phase.
  pct=$(printf '%s\n' "$pane" | grep -o '\] *[0-9]\+%' | grep -o '[0-9]\+' | tail -1 || true)
  if [ -z "$captured" ] && [ -n "$pct" ] && [ "$pct" -ge 40 ]; then
    printf '%s\n' "$pane" > "$out/terminal.txt"
    captured=1
  fi
done
ended=$(date +%s)
echo "main job: exit $(cat "$out/exit"), wall $((ended - started)) s, output in $out"
[ -n "$captured" ] || { echo "no progress bar captured" >&2; exit 1; }
node dist/dev/readme-images.js "$out/terminal.txt" "$out/results.json" docs
