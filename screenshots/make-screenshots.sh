#!/usr/bin/env bash
# make-screenshots.sh regenerates screenshots/*.png from the real TUI running on the demo
# stack, with no hand editing: stowage runs in a detached tmux session at a fixed size, is
# driven with send-keys (each step waits for the text it expects), each state is captured
# with `capture-pane -e`, converted to HTML by aha and rendered to PNG by headless
# chromium. Run it with `make screenshots`; it needs tmux, aha and chromium:
#
#   sudo apt-get install tmux aha chromium
#
# Environment: CHROMIUM (browser binary), KEEP=1 (keep the work directory for debugging),
# STEP_TIMEOUT (seconds to wait for each expected screen, default 60).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
out=$here

cols=140           # terminal size of every screenshot
rows=40
detail_rows=24     # the XML detail: its payload is short
seed=1             # the demo's seed: same requests, same statuses, every run
now=2026-11-21T14:00:00Z   # the demo's clock (hidden --now flag): same times in every picture
font_px=15
line_px=18
pad_px=18
step_timeout=${STEP_TIMEOUT:-60}

die() { echo "make-screenshots: $*" >&2; exit 1; }

# ---- tools ----------------------------------------------------------------------------
missing=()
for t in tmux aha; do command -v "$t" >/dev/null || missing+=("$t"); done
browser=${CHROMIUM:-}
if [[ -z $browser ]]; then
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null; then browser=$b; break; fi
  done
fi
[[ -n $browser ]] && command -v "$browser" >/dev/null || missing+=(chromium)
command -v go >/dev/null || missing+=("go (https://go.dev/dl/)")
if ((${#missing[@]})); then
  die "missing: ${missing[*]}. Install them with: sudo apt-get install tmux aha chromium"
fi
if command -v fc-list >/dev/null && ! fc-list | grep -qi 'DejaVu Sans Mono'; then
  echo "make-screenshots: warning: font DejaVu Sans Mono not found (sudo apt-get install fonts-dejavu-core); columns may not line up" >&2
fi

# ---- work directory, tmux server, clean-up ----------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/stowage-shots.XXXXXX")
# The redrive journal path shows in a picture: a fixed state directory keeps it the same
# from one run to the next (it is emptied before and removed after).
state="${TMPDIR:-/tmp}/stowage-screenshots/state"
rm -rf "${state%/state}" && mkdir -p "$state"
sock="stowage-shots-$$"   # a private tmux server: never touches the user's sessions
# TMUX is unset so that running this from inside tmux does not count as nesting.
tmx() { env -u TMUX tmux -L "$sock" -f "$work/tmux.conf" "$@"; }
sock_path=""
cleanup() {
  env -u TMUX tmux -L "$sock" kill-server 2>/dev/null || true
  [[ -n $sock_path ]] && rm -f "$sock_path" # tmux leaves the socket file behind
  if [[ ${KEEP:-} == 1 ]]; then
    echo "make-screenshots: kept $work" >&2
  else
    rm -rf "$work" "${state%/state}"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building stowage"
(cd "$repo" && go build -o "$work/stowage" ./cmd/stowage)

mkdir -p "$work/png" # the pictures land in screenshots/ only once every state was captured
cat >"$work/tmux.conf" <<EOF
set -g status off
set -g default-size ${cols}x${rows}
set -g history-limit 0
EOF

# The demo writes its config (with its fake credentials and API key) where we can read
# them, so that every capture can be checked for them before it becomes a picture.
cat >"$work/run-demo.sh" <<EOF
#!/bin/sh
cd "$work"
unset NO_COLOR
export TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 XDG_STATE_HOME="$state" XDG_CONFIG_HOME="$work/config"
"$work/stowage" demo --seed $seed --now $now --config-out "$work/demo.yaml" 2>"$work/demo.stderr"
echo "stowage exited with status \$?" >>"$work/demo.stderr"
sleep 3600
EOF
chmod +x "$work/run-demo.sh"

tmx new-session -d -s shots -x "$cols" -y "$rows" "$work/run-demo.sh"
sock_path=$(tmx display-message -p '#{socket_path}')

# ---- driving the TUI --------------------------------------------------------------------
screen() { tmx capture-pane -p -t shots; }

fail_step() {
  echo "make-screenshots: $1; the screen was:" >&2
  screen >&2 || true
  [[ -s $work/demo.stderr ]] && { echo "--- stowage stderr:" >&2; cat "$work/demo.stderr" >&2; }
  exit 1
}

# wait_for REGEX: poll the screen until a line matches (extended regex).
wait_for() {
  local re=$1 deadline=$((SECONDS + step_timeout))
  until screen | grep -Eq -- "$re"; do
    ((SECONDS < deadline)) || fail_step "timed out after ${step_timeout}s waiting for /$re/"
    sleep 0.2
  done
}

# wait_gone REGEX: poll the screen until no line matches.
wait_gone() {
  local re=$1 deadline=$((SECONDS + step_timeout))
  while screen | grep -Eq -- "$re"; do
    ((SECONDS < deadline)) || fail_step "timed out after ${step_timeout}s waiting for /$re/ to go away"
    sleep 0.2
  done
}

# settle: poll until the screen has stopped changing (spinners done, statuses joined).
settle() {
  local prev="" cur same=0 deadline=$((SECONDS + step_timeout))
  while ((same < 4)); do
    ((SECONDS < deadline)) || fail_step "the screen kept changing for ${step_timeout}s"
    sleep 0.25
    cur=$(screen)
    if [[ $cur == "$prev" ]]; then same=$((same + 1)); else same=0; fi
    prev=$cur
  done
}

keys() { tmx send-keys -t shots "$@"; }
# A lone Esc is told from the start of an escape sequence by a pause: wait until it has
# taken effect, or the next key arrives as alt+key.
escape() {
  local before deadline=$((SECONDS + step_timeout))
  before=$(screen)
  keys Escape
  while [[ $(screen) == "$before" ]]; do
    ((SECONDS < deadline)) || fail_step "esc changed nothing for ${step_timeout}s"
    sleep 0.1
  done
}
type_text() { tmx send-keys -t shots -l -- "$1"; }
resize() { tmx resize-window -t shots -x "$cols" -y "$1"; }

# ---- rendering ----------------------------------------------------------------------------
# The terminal box's exact size in pixels is measured once, by chromium itself, so the
# window fits it whatever the font's metrics.
chrome() {
  local profile
  profile=$(mktemp -d "$work/chromium.XXXXXX")
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-extensions --disable-default-apps --mute-audio --hide-scrollbars \
    --force-device-scale-factor=1 --user-data-dir="$profile" "$@" 2>>"$work/chromium.log"
}

css() {
  cat <<EOF
html, body { margin: 0; padding: 0; background: #010409; }
body { padding: ${pad_px}px; display: inline-block; }
.term {
  background: #0d1117; color: #e6edf3; border: 1px solid #30363d; border-radius: 8px;
  padding: 10px 12px; display: inline-block;
}
pre {
  margin: 0; font-family: 'DejaVu Sans Mono', monospace; font-size: ${font_px}px;
  line-height: ${line_px}px; font-variant-ligatures: none; white-space: pre;
}
EOF
}

measure() { # measure ROWS: prints "W H" of the page for ROWS lines of $cols cells
  local n=$1 f="$work/measure-$1.html" line
  line=$(printf '%*s' "$cols" '' | tr ' ' 'M')
  {
    echo "<!DOCTYPE html><html><head><meta charset=utf-8><title>?</title><style>$(css)</style></head><body>"
    echo -n '<div class="term"><pre>'
    for ((i = 0; i < n; i++)); do echo "$line"; done
    echo '</pre></div><script>document.title = Math.ceil(document.body.getBoundingClientRect().width) + " " + Math.ceil(document.body.getBoundingClientRect().height);</script></body></html>'
  } >"$f"
  chrome --dump-dom "file://$f" | sed -n 's:.*<title>\([0-9]* [0-9]*\)</title>.*:\1:p'
}

declare -A size_of
page_size() {
  local n=$1
  if [[ -z ${size_of[$n]:-} ]]; then
    size_of[$n]=$(measure "$n")
    [[ -n ${size_of[$n]} ]] || die "could not measure the page in $browser; see $work/chromium.log (KEEP=1 keeps it)"
  fi
  echo "${size_of[$n]}"
}

# Values that must never appear in a picture, read from the config the demo wrote.
secrets=()
load_secrets() {
  local v
  for field in access_key_id secret_access_key api_key; do
    v=$(sed -n "s/^ *${field}: *\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p" "$work/demo.yaml" | head -n1)
    [[ -n $v ]] && secrets+=("$v")
  done
  ((${#secrets[@]} > 0)) || die "found no credentials in the demo config to guard against; has its format changed?"
}

shot() { # shot NAME TITLE: capture the screen as screenshots/NAME.png
  local name=$1 title=$2 ans="$work/$1.ans" html="$work/$1.html" n w h
  tmx capture-pane -e -p -t shots >"$ans"
  for s in "${secrets[@]}"; do
    if grep -qF -- "$s" "$ans"; then die "$name: the screen shows a credential from the demo config; not saving it"; fi
  done
  n=$(tmx display-message -p -t shots '#{pane_height}')
  read -r w h < <(page_size "$n")
  {
    echo "<!DOCTYPE html><html><head><meta charset=utf-8><title>$title</title><style>$(css)</style></head><body>"
    echo -n '<div class="term"><pre>'
    aha --black --no-header <"$ans"
    echo '</pre></div></body></html>'
  } >"$html"
  chrome --window-size="$w,$h" --screenshot="$work/png/$name.png" "file://$html" >/dev/null
  [[ -s $work/png/$name.png ]] || die "$name: chromium wrote no PNG; see $work/chromium.log (KEEP=1 keeps it)"
  echo "  $name.png (${w}x${h})"
}

# ---- the states -------------------------------------------------------------------------
echo "starting the demo (seed $seed) in tmux at ${cols}x${rows}"
wait_for 'listed [0-9]+ objects'
load_secrets
# The first rows' statuses are joined lazily; wait for them and for the preview pane.
wait_for '(PROCESSED|FAILED)'
wait_for '^ *1 │'
settle
shot list "stowage: requests with their status"

# FAILED, from the status table; then a FAILED XML request that is well-formed (it failed
# downstream), opened by pasting its ID into the jump prompt.
keys f
wait_for 'Show requests'
keys F
wait_for 'view FAILED'
settle
xml_id=$(screen | grep -E '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} .*(application|text)/xml.* FAILED .*(timeout|throttled)' |
  grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | head -n1 || true)
[[ -n $xml_id ]] || fail_step "no well-formed FAILED XML request among the first FAILED rows"
json_id=$(screen | grep -E '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} .*application/json.* FAILED .*(timeout|throttled)' |
  grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | head -n1 || true)
[[ -n $json_id ]] || fail_step "no well-formed FAILED JSON request among the first FAILED rows"

resize "$detail_rows"
keys :
type_text "$xml_id"
keys Enter
wait_for "── $xml_id FAILED"
wait_for 'XML · pretty'
wait_for '^ *1 │'
settle
shot xml-preview "stowage: a FAILED XML request, pretty-printed"

# The JSON detail's info tab: S3 metadata and the whole DynamoDB item.
resize "$rows"
keys :
type_text "$json_id"
keys Enter
wait_for "── $json_id FAILED"
wait_for 'JSON · pretty'
keys Tab
wait_for 'DynamoDB item'
wait_for '"status": "FAILED"'
settle
shot json-detail "stowage: a FAILED JSON request with its DynamoDB item"
keys Tab # back to the payload tab, so the list's preview pane shows payloads again
wait_for 'JSON · pretty'

# LOST: objects older than lost_after with no status item.
escape
wait_for 'REQUEST ID +RECEIVED'
keys L
wait_for 'LOST check done'
settle
shot lost "stowage: LOST requests, stored but never processed"

# Redrive: every FAILED request selected, the plan with its typed confirmation, then the
# run slowed down (-) so that it can be caught in progress. Skipped, with a note, while the
# TUI cannot redrive.
skip_redrive() {
  echo "  skipped redrive-plan.png and redrive-progress.png: $1"
}
redrive_states() {
  keys '?'
  wait_for 'reverse sort'
  local has_redrive=0
  screen | grep -qE 'R +redrive' && has_redrive=1
  keys '?'
  wait_gone 'reverse sort'
  if ((!has_redrive)); then
    skip_redrive "the TUI has no redrive key (R) yet"
    return
  fi
  keys f
  wait_for 'Show requests'
  keys F
  wait_for 'view FAILED'
  settle
  keys a
  wait_for '[0-9]+ selected'
  keys R
  wait_for 'press enter and type the environment name|y send|redrive is not available|read-only'
  if screen | grep -q 'redrive is not available'; then
    skip_redrive "the TUI says redrive is not available in the demo session (the CLI opens it without the redrive clients)"
    return
  fi
  screen | grep -q 'press enter and type the environment name' ||
    fail_step "expected the plan of a bulk redrive, which asks for the environment name"
  settle
  shot redrive-plan "stowage: the plan of a redrive, waiting for the environment name"

  keys Enter
  wait_for 'Type the environment name'
  type_text demo
  keys Enter
  wait_for 'Redriving [0-9]+ requests'
  keys - - -   # 20/s → 10/s → 5/s → 2/s
  wait_for 'limit 2/s'
  # A few done, so the picture shows rows refreshed under the docked progress and the
  # processor's first verdicts, not a start-up.
  wait_for '([4-9]|[1-9][0-9]) of [0-9]+ done'
  wait_for '[0-9.]+/s \(limit 2/s\)'
  shot redrive-progress "stowage: a redrive in progress, the rows refreshing under it"
  grep -q 'Redriving' "$work/redrive-progress.ans" ||
    echo "make-screenshots: warning: the redrive finished before it was captured; redrive-progress.png shows its summary" >&2
  keys c   # cancel: requests in flight finish, nothing new is sent
  wait_for 'Redrive (finished|done|cancelled|stopped|not started)'
}
redrive_states

keys q
mv -f "$work"/png/*.png "$out"/
echo "done: screenshots in ${out#"$repo"/}/"
