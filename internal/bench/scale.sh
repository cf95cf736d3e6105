#!/usr/bin/env bash
# make bench-scale: stowage against its peers on the demo stack, with a real-AWS-like
# round trip (toxiproxy adds LATENCY_MS to every response of S3, DynamoDB and the
# gateway). Prints one table (stowage / peer / bound, with ratios) and writes it to
# docs/benchmarks.md with the machine it ran on.
#
#   REQUESTS   requests the demo seeds (default 100000; SCALE=1M gives 1000000)
#   LATENCY_MS added to each response (default 20)
#   CONC       requests in flight for redrive and vegeta (default 16)
#   OUT        where the table goes (default docs/benchmarks.md; - for stdout only)
#   STEPS      which measures to take, comma-separated (default ls,show,redrive,lost,sqs):
#              sqs starts a second demo with --trigger sqs (SQS_REQUESTS requests, default
#              30000; REQUESTS when smaller) and compares --mode sqs with --mode inplace at
#              concurrency 4, the queue behind toxiproxy too
#
# Traffic goes to 127.0.0.1 only. Every wait is bounded and everything it starts is
# stopped on exit.
set -euo pipefail

ROOT=${STOWAGE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TOOLS=${STOWAGE_TOOLS:-$ROOT/.tools}
TOXIPROXY_VERSION=${TOXIPROXY_VERSION:-v2.12.0} # the Makefile passes $(TOXIPROXY)
VEGETA_VERSION=${VEGETA_VERSION:-v12.13.0}
REQUESTS=${REQUESTS:-100000}
if [[ ${SCALE:-} == 1M ]]; then REQUESTS=1000000; fi
LATENCY_MS=${LATENCY_MS:-20}
CONC=${CONC:-16}
OUT=${OUT:-$ROOT/docs/benchmarks.md}
SEED_TIMEOUT=${SEED_TIMEOUT:-1800} # seconds the demo may take to seed
STEP_TIMEOUT=${STEP_TIMEOUT:-900}  # seconds any one measured command may take
STEPS=${STEPS:-ls,show,redrive,lost,sqs}
SQS_REQUESTS=${SQS_REQUESTS:-30000}
if ((SQS_REQUESTS > REQUESTS)); then SQS_REQUESTS=$REQUESTS; fi
has() { [[ ,$STEPS, == *,$1,* ]]; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-bench-scale.XXXXXX")
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }
die() {
	say "bench-scale: $*"
	exit 1
}

# --- tools, pinned --------------------------------------------------------------------
mkdir -p "$TOOLS/bin"
TOXI=$TOOLS/bin/toxiproxy-server.$TOXIPROXY_VERSION
if [[ ! -x $TOXI ]]; then
	say "installing toxiproxy $TOXIPROXY_VERSION into $TOOLS/bin"
	GOBIN=$WORK/gobin GOFLAGS= go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
	mv "$WORK/gobin/server" "$TOXI"
fi
VEGETA=$TOOLS/bin/vegeta
# go install leaves -version empty: the module version is in the build info.
if [[ ! -x $VEGETA ]] || ! go version -m "$VEGETA" 2>/dev/null | grep -q "vegeta/v12[[:space:]]*$VEGETA_VERSION"; then
	say "installing vegeta $VEGETA_VERSION into $TOOLS/bin"
	GOBIN=$TOOLS/bin GOFLAGS= go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
fi
AWSCLI=
if [[ -x /usr/bin/aws ]]; then AWSCLI=/usr/bin/aws; elif command -v aws >/dev/null; then AWSCLI=$(command -v aws); fi
command -v jq >/dev/null || die "jq is needed to read the JSON outputs (apt-get install jq)"
command -v curl >/dev/null || die "curl is needed to configure toxiproxy (apt-get install curl)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed to measure CPU (apt-get install time)"

say "building stowage and the SDK floor"
(cd "$ROOT" && go build -o "$WORK/stowage" ./cmd/stowage)
(cd "$ROOT/internal/bench/floor" && go build -o "$WORK/floor" .)
STOWAGE=$WORK/stowage

# --- measuring ------------------------------------------------------------------------
# timed CMD...: runs CMD (bounded by STEP_TIMEOUT) with stdout to $WORK/out; sets WALL and
# CPU (user+system seconds of CMD and its children). A failing CMD stops the benchmark
# unless MAYFAIL=1.
timed() {
	local rc=0 u s t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$WORK/time" timeout "$STEP_TIMEOUT" "$@" >"$WORK/out" 2>>"$WORK/err" || rc=$?
	t1=$(date +%s.%N)
	if ((rc != 0)) && [[ ${MAYFAIL:-0} != 1 ]]; then
		die "failed (exit $rc): $*"$'\n'"$(tail -5 "$WORK/err")"
	fi
	# time's own wall clock counts in 10 ms steps; date's does not.
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
	read -r u s < <(tail -1 "$WORK/time")
	CPU=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.3f", u + s}')
}

# median of N runs of CMD's wall time, in seconds.
median_wall() {
	local n=$1
	shift
	local i walls=()
	for ((i = 0; i < n; i++)); do
		timed "$@"
		walls+=("$WALL")
	done
	printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "—" }'; }

# journal_rate JOURNAL: sets SENT (requests journaled sending), RUN_S (from the first
# sending record to the end record, so planning is not counted) and RUN_RATE (SENT/RUN_S).
journal_rate() {
	local first end
	SENT=$(jq -s '[.[] | select(.type == "sending")] | length' "$1")
	first=$(jq -rs '[.[] | select(.type == "sending")][0].at // empty' "$1")
	end=$(jq -rs '[.[] | select(.type == "end")][0].at // empty' "$1")
	RUN_S=0
	if [[ -n $first && -n $end ]]; then
		RUN_S=$(awk -v a="$(date -d "$first" +%s.%N)" -v b="$(date -d "$end" +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
	fi
	RUN_RATE=$(awk -v n="$SENT" -v s="$RUN_S" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')
}

# free_port_base: a base port B with B..B+13 free: the demo listens on B..B+7 (S3, the
# gateway, DynamoDB and the event and log services), the proxies on B+10..B+13. Below the
# kernel's ephemeral range, so that no outgoing connection holds one of them meanwhile.
free_port_base() {
	local base i o lo ok
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	for i in $(seq 1 100); do
		base=$((20000 + (RANDOM % ((lo - 20000) / 20 - 1)) * 20))
		ok=1
		for o in $(seq 0 13); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$((base + o))") 2>/dev/null; then
				ok=0
				break
			fi
		done
		if ((ok)); then
			echo "$base"
			return
		fi
	done
	die "no free port range found"
}

# wait_for FILE TEXT SECONDS: until FILE holds TEXT, at most SECONDS.
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- toxiproxy, and the demo stack behind it ------------------------------------------
BASE=$(free_port_base)
S3P=$BASE GWP=$((BASE + 1)) DDBP=$((BASE + 2))
S3X=$((BASE + 10)) GWX=$((BASE + 11)) DDBX=$((BASE + 12)) TOXP=$((BASE + 13))
export AWS_ACCESS_KEY_ID=STOWAGEDEMOACCESSKEY AWS_SECRET_ACCESS_KEY=stowage-demo-secret-key-accepts-anything AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export XDG_STATE_HOME=$WORK/state XDG_CONFIG_HOME=$WORK/config NO_COLOR=1

"$TOXI" -host 127.0.0.1 -port "$TOXP" >"$WORK/toxi.log" 2>&1 &
PIDS+=("$!")
API=http://127.0.0.1:$TOXP
for i in $(seq 1 100); do
	curl -fsS "$API/version" >/dev/null 2>&1 && break
	[[ $i == 100 ]] && die "toxiproxy did not start"
	sleep 0.1
done
proxy() { # name listen upstream
	curl -fsS -X POST "$API/proxies" -d "{\"name\":\"$1\",\"listen\":\"127.0.0.1:$2\",\"upstream\":\"127.0.0.1:$3\"}" >/dev/null
	if ((LATENCY_MS > 0)); then
		curl -fsS -X POST "$API/proxies/$1/toxics" \
			-d "{\"name\":\"latency\",\"type\":\"latency\",\"stream\":\"downstream\",\"attributes\":{\"latency\":$LATENCY_MS,\"jitter\":0}}" >/dev/null
	fi
}

# start_demo NAME PORT REQUESTS [demo flags...]: a demo serving on PORT.., its config in
# $WORK/NAME.yaml; sets DEMO (its pid) and SEED_S (seconds to ready).
start_demo() {
	local name=$1 port=$2 n=$3 t0
	shift 3
	say "starting the $name demo with $n requests (this seeds; bounded by ${SEED_TIMEOUT}s)"
	t0=$(date +%s.%N)
	"$STOWAGE" demo --serve --requests "$n" --addr "127.0.0.1:$port" --config-out "$WORK/$name.yaml" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
	DEMO=$!
	PIDS+=("$DEMO")
	wait_for "$WORK/$name.out" '^ready' "$SEED_TIMEOUT" || die "the $name demo was not ready in ${SEED_TIMEOUT}s: $(tail -3 "$WORK/$name.err")"
	SEED_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
}

# slow_config IN OUT FROM:TO...: IN with each endpoint port FROM replaced by the proxy's TO.
slow_config() {
	local in=$1 out=$2 pair args=()
	shift 2
	for pair in "$@"; do
		args+=(-e "s#http://127.0.0.1:${pair%%:*}\([/]\|\$\)#http://127.0.0.1:${pair##*:}\1#g")
	done
	sed "${args[@]}" "$in" >"$out"
	chmod 600 "$out"
}

MAIN=0
for s in ls show redrive lost; do has $s && MAIN=1; done
if ((MAIN)); then
	start_demo direct "$S3P" "$REQUESTS"
	MAIN_SEED_S=$SEED_S
	SEED_RSS_MB=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$DEMO/status") # the peak, not the resident set at ready
	BUCKET=$(awk '/bucket:/ {print $2; exit}' "$WORK/direct.yaml")
	TABLE=$(awk '/ table:/ {print $2; exit}' "$WORK/direct.yaml")
	APIKEY=$(awk '/api_key:/ {print $2; exit}' "$WORK/direct.yaml")
	proxy s3 "$S3X" "$S3P"
	proxy gateway "$GWX" "$GWP"
	proxy dynamodb "$DDBX" "$DDBP"
	slow_config "$WORK/direct.yaml" "$WORK/slow.yaml" "$S3P:$S3X" "$DDBP:$DDBX" "$GWP:$GWX"
fi
S3URL=http://127.0.0.1:$S3X DDBURL=http://127.0.0.1:$DDBX GWURL=http://127.0.0.1:$GWX/demo

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }

# --- listing --------------------------------------------------------------------------
# The sharded round-trip bound: ls lists 16 key ranges at once (inventory.DefaultParallel),
# so each lists about N/16000 pages in series; the join of the last page adds one more.
PAGES_PER_SHARD=$(((REQUESTS + 15999) / 16000))
LS_BOUND=$(awk -v p="$PAGES_PER_SHARD" -v l="$LATENCY_MS" 'BEGIN {printf "%.3f", (p + 1) * l / 1000}')
if has ls; then
	say "listing ($REQUESTS objects at ${LATENCY_MS} ms)"
	timed "$STOWAGE" --config "$WORK/slow.yaml" --env demo ls -o json
	LS_S=$WALL LS_ROWS=$(wc -l <"$WORK/out")
	ID=$(head -1 "$WORK/out" | jq -r .id)
	timed "$WORK/floor" list -s3 "$S3URL" -ddb "$DDBURL" -bucket "$BUCKET" -table "$TABLE"
	FLOOR_LS_S=$WALL
	AWS_LS_S=
	if [[ -n $AWSCLI ]]; then
		timed "$AWSCLI" --endpoint-url "$S3URL" s3api list-objects-v2 --bucket "$BUCKET" --output json
		AWS_LS_S=$WALL
	fi
	row "Joined listing, $LS_ROWS requests (16 key ranges)" "${LS_S} s" \
		"awscli listing alone ${AWS_LS_S:-n/a} s ($(ratio "${AWS_LS_S:-0}" "$LS_S") faster; goal ≥ 8×); SDK floor list+join ${FLOOR_LS_S} s" \
		"stowage / floor $(ratio "$LS_S" "$FLOOR_LS_S"); sharded round-trip bound ${LS_BOUND} s: $(ratio "$LS_S" "$LS_BOUND") (goal ≤ 1.5×)"
fi

# --- show -----------------------------------------------------------------------------
if has show; then
	[[ -n ${ID:-} ]] || ID=$("$STOWAGE" --config "$WORK/direct.yaml" --env demo ls -o json | head -1 | jq -r .id)
	say "show $ID"
	SHOW_S=$(median_wall 5 "$STOWAGE" --config "$WORK/slow.yaml" --env demo show "$ID" --raw)
	FLOOR_SHOW_S=$(median_wall 5 "$WORK/floor" show -s3 "$S3URL" -ddb "$DDBURL" -bucket "$BUCKET" -table "$TABLE" -id "$ID")
	AWS_SHOW_S=
	if [[ -n $AWSCLI ]]; then
		aws_show() {
			"$AWSCLI" --endpoint-url "$S3URL" s3api head-object --bucket "$BUCKET" --key "$ID" >/dev/null &&
				"$AWSCLI" --endpoint-url "$S3URL" s3api get-object --bucket "$BUCKET" --key "$ID" "$WORK/obj" >/dev/null &&
				"$AWSCLI" --endpoint-url "$DDBURL" dynamodb get-item --table-name "$TABLE" \
					--key "{\"requestId\":{\"S\":\"$ID\"}}" >/dev/null
		}
		start=$(date +%s.%N)
		aws_show
		AWS_SHOW_S=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
	fi
	# /usr/bin/time counts CPU in 10 ms steps: time 100 starts together (20 read 14 ms
	# where 100 just after read 19.3).
	timed bash -c 'for i in $(seq 100); do "$0" version >/dev/null; done' "$STOWAGE"
	START_CPU_MS=$(awk -v c="$CPU" 'BEGIN {printf "%.1f", c * 1000 / 100}')
	row "\`show ID\` (median of 5)" "${SHOW_S} s; process start ${START_CPU_MS} ms CPU (\`stowage version\`)" \
		"awscli sequence ${AWS_SHOW_S:-n/a} s ($(ratio "${AWS_SHOW_S:-0}" "$SHOW_S") faster); SDK floor ${FLOOR_SHOW_S} s" \
		"stowage / floor $(ratio "$SHOW_S" "$FLOOR_SHOW_S") (goal ≤ 1.5×); start goal ≤ 15 ms"
fi

# --- redrive: dry run, then the run -----------------------------------------------------
if has redrive; then
	say "redrive --status FAILED --dry-run"
	timed "$STOWAGE" --config "$WORK/slow.yaml" --env demo redrive --status FAILED --dry-run -o json
	DRY_S=$WALL
	FAILED=$(grep -c '"id"' "$WORK/out" || true)
	row "\`redrive --status FAILED --dry-run\` ($FAILED planned)" "${DRY_S} s" "—" \
		"floor list+join ${FLOOR_LS_S:-n/a} s: $(ratio "$DRY_S" "${FLOOR_LS_S:-0}") (goal ≤ 2×)"

	say "redrive --status FAILED (concurrency $CONC, unlimited rate)"
	JOURNAL=$WORK/run.journal.jsonl
	MAYFAIL=1 timed "$STOWAGE" --config "$WORK/slow.yaml" --env demo redrive --status FAILED --rate 0 --concurrency "$CONC" \
		--yes -o json --journal "$JOURNAL"
	RUN_CPU=$CPU
	journal_rate "$JOURNAL"
	RUN_CPU_MS=$(awk -v c="$RUN_CPU" -v n="$SENT" 'BEGIN { if (n > 0) printf "%.2f", c * 1000 / n; else print "—" }')

	say "vegeta on the same route, same concurrency"
	KEY=$(jq -rs '[.[] | select(.type == "header")][0].manifest.items[0].key // empty' "$JOURNAL")
	[[ -n $KEY ]] || KEY=${ID:-}
	"$STOWAGE" --config "$WORK/direct.yaml" --env demo show "$KEY" --raw >"$WORK/body" 2>/dev/null || echo '{}' >"$WORK/body"
	# The key goes into the path escaped, as stowage sends it: a raw / splits the {key}
	# segment and the gateway answers 403.
	KEY_PATH=$(jq -rn --arg k "$KEY" '$k | @uri')
	printf 'PUT %s/product/%s/%s\nx-api-key: %s\nContent-Type: application/json\n@%s\n' \
		"$GWURL" "$BUCKET" "$KEY_PATH" "$APIKEY" "$WORK/body" >"$WORK/targets"
	VEG_DUR=$(awk -v s="$RUN_S" 'BEGIN { d = int(s + 0.5); if (d < 5) d = 5; if (d > 60) d = 60; print d }')
	timed "$VEGETA" attack -targets "$WORK/targets" -rate 0 -max-workers "$CONC" -workers "$CONC" -duration "${VEG_DUR}s" -output "$WORK/veg.bin"
	VEG_CPU=$CPU
	"$VEGETA" report -type json "$WORK/veg.bin" >"$WORK/veg.json"
	VEG_RATE=$(jq -r '.throughput | floor' "$WORK/veg.json")
	VEG_N=$(jq -r '.requests' "$WORK/veg.json")
	VEG_OK=$(jq -r '.success' "$WORK/veg.json")
	VEG_CPU_MS=$(awk -v c="$VEG_CPU" -v n="$VEG_N" 'BEGIN { if (n > 0) printf "%.2f", c * 1000 / n; else print "—" }')
	row "Redrive at ${LATENCY_MS} ms, $SENT sent, $CONC in flight" "${RUN_RATE} req/s" \
		"vegeta ${VEG_RATE} req/s (success ratio ${VEG_OK})" "stowage / vegeta $(ratio "$RUN_RATE" "$VEG_RATE") (goal ≥ 0.8×)"
	row "Client CPU per request (redrive incl. planning / vegeta)" "${RUN_CPU_MS} ms" "vegeta ${VEG_CPU_MS} ms" "goal ≤ 0.5 ms"
fi

# --- lost -----------------------------------------------------------------------------
if has lost; then
	say "lost"
	MAYFAIL=1 timed "$STOWAGE" --config "$WORK/slow.yaml" --env demo lost -o json # exit 1: none lost
	LOST_S=$WALL LOST_N=$(wc -l <"$WORK/out")
	MAYFAIL=1 timed "$STOWAGE" --config "$WORK/direct.yaml" --env demo lost -o json
	LOST_DIRECT_S=$WALL
	# The scan of the table overlaps the listing; confirming what the scan missed adds a round trip.
	LOST_BOUND=$(awk -v b="$LS_BOUND" -v l="$LATENCY_MS" 'BEGIN {printf "%.3f", b + l / 1000}')
	row "\`lost\` ($LOST_N found)" "${LOST_S} s at ${LATENCY_MS} ms; ${LOST_DIRECT_S} s on the demo directly (goal at 100k ≤ 5 s)" "—" \
		"round-trip bound ${LOST_BOUND} s: $(ratio "$LOST_S" "$LOST_BOUND") (goal ≤ 2×)"
fi
if ((MAIN)); then
	row "Demo seeding, $REQUESTS requests" "${MAIN_SEED_S} s to ready; server peak ${SEED_RSS_MB} MiB RSS" "—" "goal at 1M: ≤ 90 s, ≤ 1.5 GB"
fi

# --- sqs against the gateway, at the same concurrency ----------------------------------
# A second demo whose processor long-polls a queue (--trigger sqs), its S3, DynamoDB,
# gateway and queue behind toxiproxy. Its FAILED requests are split: a tenth
# (at most SQS_GW_N, default 500) redriven with --mode inplace, the rest (at most SQS_N,
# default 5000) with --mode sqs, both at concurrency 4 and unlimited rate. SendMessageBatch
# carries 10 a call, so the bound of sqs is 4 × 10 per round trip: 40000/LATENCY_MS req/s.
if has sqs; then
	B2=$(free_port_base)
	start_demo sqs "$B2" "$SQS_REQUESTS" --trigger sqs
	SQS_SEED_S=$SEED_S
	SQSP=$(awk '/^ *sqs: http/ {sub(/.*:/, "", $2); print $2; exit}' "$WORK/sqs.yaml")
	[[ -n $SQSP ]] || die "the sqs demo's config names no sqs endpoint"
	proxy s3b $((B2 + 10)) "$B2"
	proxy gatewayb $((B2 + 11)) $((B2 + 1))
	proxy dynamodbb $((B2 + 12)) $((B2 + 2))
	proxy sqsb $((B2 + 13)) "$SQSP"
	slow_config "$WORK/sqs.yaml" "$WORK/sqs-slow.yaml" "$B2:$((B2 + 10))" "$((B2 + 1)):$((B2 + 11))" "$((B2 + 2)):$((B2 + 12))" "$SQSP:$((B2 + 13))"
	"$STOWAGE" --config "$WORK/sqs.yaml" --env demo ls --status FAILED -o json | jq -r .id >"$WORK/sqs-failed"
	NF=$(wc -l <"$WORK/sqs-failed")
	GW_N=$((NF / 10))
	if ((GW_N > ${SQS_GW_N:-500})); then GW_N=${SQS_GW_N:-500}; fi
	EV_N=$((NF - GW_N))
	if ((EV_N > ${SQS_N:-5000})); then EV_N=${SQS_N:-5000}; fi
	((GW_N > 0 && EV_N > 0)) || die "the sqs demo has $NF FAILED requests: too few to compare"
	head -n "$GW_N" "$WORK/sqs-failed" >"$WORK/sqs-gw.ids"
	tail -n +"$((GW_N + 1))" "$WORK/sqs-failed" | head -n "$EV_N" >"$WORK/sqs-ev.ids"
	say "redrive --mode inplace, $GW_N requests, concurrency 4, on the sqs demo"
	MAYFAIL=1 timed "$STOWAGE" --config "$WORK/sqs-slow.yaml" --env demo redrive --from-file "$WORK/sqs-gw.ids" --mode inplace \
		--rate 0 --concurrency 4 --yes -o json --journal "$WORK/sqs-gw.journal.jsonl"
	journal_rate "$WORK/sqs-gw.journal.jsonl"
	GW_RATE=$RUN_RATE GW_SENT=$SENT
	say "redrive --mode sqs, $EV_N requests, concurrency 4"
	MAYFAIL=1 timed "$STOWAGE" --config "$WORK/sqs-slow.yaml" --env demo redrive --from-file "$WORK/sqs-ev.ids" --mode sqs \
		--rate 0 --concurrency 4 --yes -o json --journal "$WORK/sqs-ev.journal.jsonl"
	EV_CPU_MS=$(awk -v c="$CPU" -v n="$EV_N" 'BEGIN { if (n > 0) printf "%.2f", c * 1000 / n; else print "—" }')
	journal_rate "$WORK/sqs-ev.journal.jsonl"
	SQS_BOUND=$(awk -v l="$LATENCY_MS" 'BEGIN { if (l > 0) printf "%.0f", 40000 / l; else print 0 }')
	row "\`redrive --mode sqs\` at ${LATENCY_MS} ms, $SENT sent, concurrency 4" "${RUN_RATE} req/s; client CPU ${EV_CPU_MS} ms a request (incl. planning)" \
		"\`--mode inplace\` ${GW_RATE} req/s ($GW_SENT sent), same demo and concurrency" \
		"sqs / inplace $(ratio "$RUN_RATE" "$GW_RATE") (goal ≥ 10×); bound 4 calls × 10 per round trip ${SQS_BOUND} req/s: $(ratio "$RUN_RATE" "$SQS_BOUND")"
	row "Demo seeding, $SQS_REQUESTS requests, --trigger sqs" "${SQS_SEED_S} s to ready" "—" "—"
fi

# --- the table ------------------------------------------------------------------------
MODEL=$(awk -F: '/model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
{
	echo "# Scale benchmark"
	echo
	echo "Written by \`make bench-scale\` (internal/bench/scale.sh) on $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "Machine: $(nproc) CPUs, ${MODEL:-unknown model}, $MEM memory. Demo seeded with $REQUESTS requests;"
	echo "toxiproxy $TOXIPROXY_VERSION adds ${LATENCY_MS} ms to every response of S3, DynamoDB and the gateway (and the queue, in the sqs row)."
	echo "Peers: awscli ($(${AWSCLI:-false} --version 2>&1 | awk '{print $1}' || echo absent)), the SDK floor"
	echo "(internal/bench/floor), vegeta $VEGETA_VERSION on the same gateway route with the same body."
	echo
	echo "| Measure | stowage | Peer | Bound / ratio |"
	echo "|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
	if [[ -f $ROOT/internal/bench/notes.md ]]; then
		echo
		cat "$ROOT/internal/bench/notes.md"
	fi
} >"$WORK/table.md"
cat "$WORK/table.md"
if [[ $OUT != - ]]; then
	cp "$WORK/table.md" "$OUT"
	say "wrote $OUT"
fi
