# scripts/bench-lib.sh: helpers the bench scripts share (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_nginx DIR [DIRECTIVES]: nginx-rtmp on a free loopback port, reading and
# dropping what is published, or doing DIRECTIVES with it too (e.g. "record
# all; record_path DIR;"); sets nginx_port and nginx_pid.
start_nginx() {
  local dir=$1 extra=${2:-}
  nginx_port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process off; worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$nginx_port; application live { live on; $extra } } }
CONF
  nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
  nginx_pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null && return
    sleep 0.1
  done
  echo "nginx did not start: $(cat "$dir/error.log")" >&2
  return 1
}

# stats: numbers on stdin, one a line -> "median min max n"
stats() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan nan nan 0"; exit }
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%s %s %s %d\n", m, v[1], v[NR], NR }'
}

# verdict AWK_CONDITION: "met" or "**not met**".
# A figure that was not measured ("nan") makes it "**not measured**".
verdict() {
  case $1 in *nan*) echo "**not measured**"; return ;; esac
  awk "BEGIN { print ($1) ? \"met\" : \"**not met**\" }"
}

# fmt NUMBER [DECIMALS]
fmtn() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }

# gobench_rows: `go test -bench` output on stdin -> "name unit value", one
# line per figure of each run, in the order they ran (the -N GOMAXPROCS
# suffix dropped).
gobench_rows() {
  # A benchmark that logs to stdout splits its line: the name, the logs, then
  # the figures on a line of their own.
  awk 'function emit(name, from) { sub(/-[0-9]+$/, "", name); for (i = from; i + 1 <= NF; i += 2) print name "\t" $(i+1) "\t" $i }
    /^Benchmark/ && $4 == "ns/op" { emit($1, 3); pending = ""; next }
    /^Benchmark/ { pending = $1; next }
    pending != "" && $1 ~ /^[0-9]+$/ && $3 == "ns/op" { emit(pending, 2); pending = "" }'
}

# gobench_pairs A B UNIT: `go test -bench` output on stdin -> B's figure ÷
# A's, one line per pair of runs in the order they ran (the first run of B
# over the first of A, and so on): for benchmarks run side by side.
gobench_pairs() {
  gobench_rows | awk -F '\t' -v a="$1" -v b="$2" -v u="$3" '
    $2 == u && $1 == a { x[++na] = $3 }
    $2 == u && $1 == b { y[++nb] = $3 }
    END { for (i = 1; i <= na && i <= nb; i++) if (x[i] != 0) print y[i] / x[i] }'
}

# gobench_tsv: `go test -bench` output on stdin -> "name unit median min max n"
# per benchmark and unit, over -count repeats (the -N GOMAXPROCS suffix dropped).
gobench_tsv() {
  gobench_rows | sort -t $'\t' -k1,1 -k2,2 -k3,3g | awk -F '\t' '
    function flush() { if (n) { m = (n % 2) ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2; printf "%s\t%s\t%s\t%s\t%s\t%d\n", k1, k2, m, v[1], v[n], n } n = 0 }
    { if ($1 != k1 || $2 != k2) { flush(); k1 = $1; k2 = $2 } v[++n] = $3 }
    END { flush() }'
}

# gb FILE NAME UNIT [FIELD]: a figure from gobench_tsv output (FIELD 3 median,
# 4 min, 5 max); "nan" where the benchmark did not run.
gb() {
  awk -F '\t' -v n="$2" -v u="$3" -v f="${4:-3}" '$1 == n && $2 == u { print $f; found = 1 } END { if (!found) print "nan" }' "$1"
}

# range FILE NAME UNIT [SCALE] [DECIMALS]: "median (min–max)" scaled.
range() {
  local s=${4:-1} d=${5:-1}
  awk -v a="$(gb "$1" "$2" "$3" 3)" -v b="$(gb "$1" "$2" "$3" 4)" -v c="$(gb "$1" "$2" "$3" 5)" -v s="$s" -v d="$d" \
    'BEGIN { if (a == "nan") { print "not run"; exit } printf "%.*f (%.*f–%.*f)", d, a*s, d, b*s, d, c*s }'
}
