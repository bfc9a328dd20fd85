# Start, stop or check one Hadoop YARN daemon (resourcemanager or nodemanager) on this node.
# Usage: bash -c "$(daemon.sh)" jw ACTION ROLE DIR HADOOP_HOME JARS CONF_DIR JAVA_HOME HEAP
#   ACTION       start | stop | status
#   ROLE         resourcemanager | nodemanager
#   DIR          state directory (relative to $HOME): ROLE.pid, logs/
#   HADOOP_HOME  an unpacked Hadoop release (its share/hadoop/*); empty: JARS, else $HADOOP_HOME
#   JARS         one directory of every jar the daemons need; empty: HADOOP_HOME
#   CONF_DIR     Hadoop's configuration directory; empty: $HADOOP_CONF_DIR
#   JAVA_HOME    empty: $JAVA_HOME, else the java on PATH
#   HEAP         -Xmx of the daemon
# The daemon runs in a session of its own (setsid) so it outlives the SSH connection and the
# job that started it; its pid is recorded so stop ends exactly it, never a process found by
# name. This is what Hadoop's own `yarn --daemon` does, without needing its scripts.
set -u
action=$1 role=$2 dir=$3 hadoop_home=$4 jars=$5 conf_dir=$6 java_home=$7 heap=$8
case $role in
  resourcemanager) class=org.apache.hadoop.yarn.server.resourcemanager.ResourceManager ;;
  nodemanager) class=org.apache.hadoop.yarn.server.nodemanager.NodeManager ;;
  *) echo "unknown YARN daemon $role" >&2; exit 2 ;;
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
  conf_dir=${conf_dir:-${HADOOP_CONF_DIR:-}}
  if [ -z "$conf_dir" ] || [ ! -f "$conf_dir/yarn-site.xml" ]; then
    echo "no yarn-site.xml in '${conf_dir}' (runtime.yarn.conf_dir, or \$HADOOP_CONF_DIR)" >&2
    exit 1
  fi
  if [ -n "$jars" ]; then
    cp="$conf_dir:$jars/*"
  else
    hadoop_home=${hadoop_home:-${HADOOP_HOME:-}}
    share=$hadoop_home/share/hadoop
    if [ -z "$hadoop_home" ] || [ ! -d "$share/yarn" ]; then
      echo "no Hadoop in '${hadoop_home}' (runtime.yarn.hadoop_home or jars, or \$HADOOP_HOME)" >&2
      exit 1
    fi
    # The classpath Hadoop's `yarn` script gives the daemons.
    cp=$conf_dir
    for d in common hdfs yarn yarn/timelineservice; do cp="$cp:$share/$d/*:$share/$d/lib/*"; done
  fi
  java_home=${java_home:-${JAVA_HOME:-}}
  if [ -z "$java_home" ]; then
    java=$(command -v java) || { echo "no java on PATH (runtime.yarn.java_home)" >&2; exit 1; }
    java_home=$(dirname "$(dirname "$(readlink -f "$java")")")
  fi
  if [ ! -x "$java_home/bin/java" ]; then
    echo "$java_home/bin/java not found (runtime.yarn.java_home)" >&2
    exit 1
  fi
  mkdir -p "$dir/logs" || exit 1
  # Containers find their java through JAVA_HOME, which the NodeManager passes on from its
  # own environment (yarn.nodemanager.env-whitelist).
  export JAVA_HOME=$java_home HADOOP_CONF_DIR=$conf_dir
  # Java 17: what Hadoop's scripts add (HADOOP-19310), or the web app and RPC fail on
  # reflective access.
  jpms="-XX:+IgnoreUnrecognizedVMOptions"
  for p in java.io java.lang java.lang.reflect java.math java.net java.text java.util \
      java.util.concurrent java.util.zip sun.security.util sun.security.x509; do
    jpms="$jpms --add-opens=java.base/$p=ALL-UNNAMED"
  done
  # Where this run's part of the (appended) log begins, for status to show only this run's.
  wc -c < "$dir/logs/$role.out" > "$dir/$role.logstart" 2>/dev/null ||
    echo 0 > "$dir/$role.logstart"
  # A background child of a non-interactive shell is never a process group leader, so setsid
  # does not fork and $! is the JVM itself.
  # shellcheck disable=SC2086 # $jpms is a list of options
  setsid nohup "$java_home/bin/java" "-Dproc_$role" "-Xmx$heap" $jpms \
    "-Dhadoop.log.dir=$dir/logs" "-Dyarn.log.dir=$dir/logs" \
    "-Dhadoop.log.file=$role.log" "-Dyarn.log.file=$role.log" \
    "-Dhadoop.root.logger=INFO,console" "-Dyarn.root.logger=INFO,console" \
    -cp "$cp" "$class" >> "$dir/logs/$role.out" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pidf.tmp" && mv -f "$pidf.tmp" "$pidf"
  sleep 0.3
  if ! running; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    echo "the YARN $role exited at once; the end of $dir/logs/$role.out:" >&2
    tail -n 20 "$dir/logs/$role.out" >&2
    rm -f "$pidf"
    exit 1
  fi
  echo "$role started (pid $pid)"
  ;;
stop)
  if ! running; then rm -f "$pidf"; echo "$role not running"; exit 0; fi
  # SIGTERM: the NodeManager stops its containers itself before it exits (they run in
  # sessions of their own, out of reach of the daemon's process group).
  if kill -0 -- "-$pid" 2>/dev/null; then target=-$pid; else target=$pid; fi
  kill -TERM -- "$target" 2>/dev/null
  for _ in $(seq 300); do
    kill -0 -- "$target" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 -- "$target" 2>/dev/null; then
    kill -KILL -- "$target" 2>/dev/null
    echo "$role did not stop within 30 s: killed (pid $pid)"
  else
    echo "$role stopped (pid $pid)"
  fi
  rm -f "$pidf"
  ;;
status)
  if running; then echo "running $pid"; exit 0; fi
  echo stopped
  from=$(cat "$dir/$role.logstart" 2>/dev/null) || from=0
  tail -c "+$((${from:-0} + 1))" "$dir/logs/$role.out" 2>/dev/null | tail -n 60
  ;;
*) echo "unknown action $action" >&2; exit 2 ;;
esac
