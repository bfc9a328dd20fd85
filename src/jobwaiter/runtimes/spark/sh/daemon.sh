# Start or stop one Spark standalone daemon (master or worker) on this node, exactly.
# Usage: bash -c "$(daemon.sh)" jw ACTION ROLE DIR PYTHON SPARK_HOME LOCAL_IP JAVA_OPTS [ARGS...]
#   ACTION     start | stop
#   ROLE       master | worker
#   DIR        state directory (relative to $HOME): ROLE.pid, logs/, work/
#   SPARK_HOME empty: the directory of PYTHON's pyspark package
#   JAVA_OPTS  -Dkey=value options for the daemon (SPARK_MASTER_OPTS / SPARK_WORKER_OPTS)
#   ARGS       the daemon class's own arguments
# The daemon runs in a session of its own (setsid) so it outlives the SSH connection and the
# job that started it; its pid is recorded so stop ends exactly it and what it started (its
# process group), never a process found by name.
set -u
action=$1 role=$2 dir=$3 py=$4 spark_home=$5 local_ip=$6 java_opts=$7
shift 7
case $role in
  master) class=org.apache.spark.deploy.master.Master ;;
  worker) class=org.apache.spark.deploy.worker.Worker ;;
  *) echo "unknown Spark daemon $role" >&2; exit 2 ;;
esac
case $dir in /*) ;; *) dir=$HOME/$dir ;; esac
pidf=$dir/$role.pid

# The recorded pid is alive and still our daemon: pids are reused.
running() {
  [ -s "$pidf" ] || return 1
  pid=$(cat "$pidf")
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF -- "$class"
}

case $action in
start)
  if running; then echo "$role already running (pid $pid)"; exit 0; fi
  mkdir -p "$dir/logs" "$dir/work" || exit 1
  if [ -z "$spark_home" ]; then
    spark_home=$("$py" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))') || {
      echo "cannot find Spark: set runtime.spark.spark_home, or install pyspark for $py" >&2
      exit 1
    }
  fi
  if [ ! -x "$spark_home/bin/spark-class" ]; then
    echo "$spark_home/bin/spark-class not found (runtime.spark.spark_home)" >&2
    exit 1
  fi
  export SPARK_HOME=$spark_home SPARK_LOCAL_IP=$local_ip PYSPARK_PYTHON=$py \
    SPARK_LOG_DIR=$dir/logs SPARK_WORKER_DIR=$dir/work
  if [ "$role" = master ]; then export SPARK_MASTER_OPTS=$java_opts
  else export SPARK_WORKER_OPTS=$java_opts; fi
  # Where this run's part of the (appended) log begins, for status to show only this run's.
  wc -c < "$dir/logs/$role.out" > "$dir/$role.logstart" 2>/dev/null ||
    echo 0 > "$dir/$role.logstart"
  # A background child of a non-interactive shell is never a process group leader, so setsid
  # does not fork and $! is the daemon itself (spark-class then execs the JVM in place).
  setsid nohup "$spark_home/bin/spark-class" "$class" "$@" \
    >> "$dir/logs/$role.out" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pidf.tmp" && mv -f "$pidf.tmp" "$pidf"
  sleep 0.3
  if ! running; then
    # Whatever is left of what we just started goes too: nothing untracked stays behind.
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    echo "the Spark $role exited at once; the end of $dir/logs/$role.out:" >&2
    tail -n 20 "$dir/logs/$role.out" >&2
    rm -f "$pidf"
    exit 1
  fi
  echo "$role started (pid $pid)"
  ;;
stop)
  if ! running; then rm -f "$pidf"; echo "$role not running"; exit 0; fi
  # The daemon leads its own process group: executors and drivers it started go with it.
  if kill -0 -- "-$pid" 2>/dev/null; then target=-$pid; else target=$pid; fi
  kill -TERM -- "$target" 2>/dev/null
  for _ in $(seq 150); do
    kill -0 -- "$target" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 -- "$target" 2>/dev/null; then
    kill -KILL -- "$target" 2>/dev/null
    echo "$role did not stop within 15 s: killed (pid $pid)"
  else
    echo "$role stopped (pid $pid)"
  fi
  rm -f "$pidf"
  ;;
status)
  # Stopped: this run's end of its log says why.
  if running; then echo "running $pid"; exit 0; fi
  echo stopped
  from=$(cat "$dir/$role.logstart" 2>/dev/null) || from=0
  tail -c "+$((${from:-0} + 1))" "$dir/logs/$role.out" 2>/dev/null | tail -n 60
  ;;
*) echo "unknown action $action" >&2; exit 2 ;;
esac
