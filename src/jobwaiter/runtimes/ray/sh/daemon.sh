# Start or stop this node's Ray daemon (head or worker), exactly.
# Usage: bash -c "$(daemon.sh)" jw ACTION ROLE DIR RAY [ray start ARGS...]
#   ACTION  start | stop | status
#   ROLE    head | worker
#   DIR     state directory (relative to $HOME): ROLE.pid, logs/
#   RAY     the ray executable
#   ARGS    `ray start` arguments (ports, addresses, temp dir)
# `ray start --block` runs in a session of its own (setsid) and its pid is recorded: stop
# sends it SIGTERM, and it tears down the GCS, raylet, dashboard and agents it started. Never
# `ray stop`: it kills every Ray process of the user on the machine, not just this cluster's.
# On SIGTERM Ray first drains the node, as long as work holds it, up to
# RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S (30 s by default, recorded at start in ROLE.drain),
# then stops its processes (about 5 s): stop waits for all of that before it kills anything.
# (The runtime stops the head's jobs through the Jobs API first, so the drain is short.)
set -u
action=$1 role=$2 dir=$3 ray=$4
shift 4
case $role in head|worker) ;; *) echo "unknown Ray daemon $role" >&2; exit 2 ;; esac
case $dir in /*) ;; *) dir=$HOME/$dir ;; esac
pidf=$dir/$role.pid log=$dir/logs/$role.out

# The recorded pid is alive and still our `ray start`: pids are reused.
running() {
  [ -s "$pidf" ] || return 1
  pid=$(cat "$pidf")
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -q -- "start.*--block"
}

case $action in
start)
  if running; then echo "$role already running (pid $pid)"; exit 0; fi
  mkdir -p "$dir/logs" || exit 1
  command -v "$ray" >/dev/null || {
    echo "cannot find $ray: set runtime.ray.ray_bin, or install ray[default]" >&2; exit 1; }
  # Keep 127.0.0.1 when it is the node address (Ray otherwise swaps in the primary
  # interface's address); never phone home.
  export RAY_USAGE_STATS_ENABLED=0 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
  drain=${RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S:-30}
  echo "$drain" > "$dir/$role.drain"
  wc -c < "$log" > "$dir/$role.logstart" 2>/dev/null || echo 0 > "$dir/$role.logstart"
  # A background child of a non-interactive shell is never a process group leader, so setsid
  # does not fork and $! is `ray start` itself.
  setsid nohup "$ray" start --block "$@" >> "$log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pidf.tmp" && mv -f "$pidf.tmp" "$pidf"
  sleep 0.5
  if ! running; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    echo "the Ray $role exited at once; the end of $log:" >&2
    tail -n 20 "$log" >&2
    rm -f "$pidf"
    exit 1
  fi
  echo "$role started (pid $pid)"
  ;;
stop)
  if ! running; then rm -f "$pidf"; echo "$role not running"; exit 0; fi
  if kill -0 -- "-$pid" 2>/dev/null; then target=-$pid; else target=$pid; fi
  # Ray's drain (as recorded at start), then its teardown: about 30 s more is ample.
  drain=$(cat "$dir/$role.drain" 2>/dev/null) || drain=30
  drain=${drain%%.*}
  case $drain in ''|*[!0-9]*) drain=30 ;; esac
  limit=$((drain + 30))
  # SIGTERM to `ray start --block` alone: it drains, then stops its children in order; the
  # whole group goes afterwards if anything is left.
  start=$(date +%s)
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq $((limit * 10))); do
    kill -0 -- "$target" 2>/dev/null || break
    sleep 0.1
  done
  took=$(( $(date +%s) - start ))
  if kill -0 -- "$target" 2>/dev/null; then
    kill -TERM -- "$target" 2>/dev/null
    sleep 2
    kill -KILL -- "$target" 2>/dev/null
    echo "$role did not stop within $limit s (Ray's drain of ${drain} s and its shutdown): killed (pid $pid)"
  else
    echo "$role stopped (pid $pid) in ${took} s"
  fi
  rm -f "$pidf" "$dir/$role.drain"
  ;;
status)
  if running; then echo "running $pid"; exit 0; fi
  echo stopped
  from=$(cat "$dir/$role.logstart" 2>/dev/null) || from=0
  tail -c "+$((${from:-0} + 1))" "$log" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | tail -n 30
  ;;
*) echo "unknown action $action" >&2; exit 2 ;;
esac
