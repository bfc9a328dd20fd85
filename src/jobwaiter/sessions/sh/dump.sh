# Print job records as "key value" lines, one block per job starting with "@@ NAME".
# Usage: bash -c "$(lib.sh dump.sh)" jw [NAME...]   (no NAME: every record)
# Builtins where they do: a listing of many jobs forks a few processes, not several per job.
first_line() { line=; IFS= read -r line < "$1" 2>/dev/null; :; }
whole() { text=; IFS= read -r -d '' text < "$1" 2>/dev/null; :; }
# Before the records, with no NAME: autostop as the head keeps it (its order is private and
# not printed; the state line holds no secret), and whether a watcher of this boot runs.
w=$HOME/.jobwaiter/watch
if [ $# -eq 0 ] && { [ -f "$w/autostop.json" ] || [ -s "$w/autostop.state" ]; }; then
  if [ -f "$w/autostop.json" ]; then echo "autostop_armed yes"; else echo "autostop_armed no"; fi
  if [ -s "$w/autostop.cluster" ]; then
    first_line "$w/autostop.cluster"; printf 'autostop_cluster %s\n' "$line"
  fi
  if [ -s "$w/autostop.state" ]; then
    first_line "$w/autostop.state"; printf 'autostop_state %s\n' "$line"
  fi
  now=${EPOCHREALTIME-}  # bash 5; its separator follows the locale
  case $now in ''|*[!0-9.]*) now=$(date +%s.%N) ;; esac
  printf 'autostop_now %s\n' "$now"
  first_line /proc/sys/kernel/random/boot_id; printf 'autostop_boot %s\n' "$line"
  if [ -f "$w/watcher.lock" ] && ! flock -s -n "$w/watcher.lock" true 2>/dev/null; then
    echo "autostop_watcher yes"
  else
    echo "autostop_watcher no"
  fi
fi
# Whether a watcher runs (it holds its lock for its whole life): what a stop "armed on the
# head" relies on.
if [ $# -eq 0 ]; then
  if [ -f "$w/watcher.lock" ] && ! flock -s -n "$w/watcher.lock" true 2>/dev/null; then
    echo "watcher_running yes"
  else
    echo "watcher_running no"
  fi
fi
cd "$HOME/.jobwaiter/jobs" 2>/dev/null || exit 0
live=$(live_sessions)
[ $# -gt 0 ] || set -- jobwaiter-*
for n in "$@"; do
  [ -d "$n" ] || continue
  echo "@@ $n"
  for f in meta started status pid stop_status killed waited; do
    p=$n/$f; [ "$f" = meta ] && p=$n/meta.json
    if [ -s "$p" ]; then first_line "$p"; printf '%s %s\n' "$f" "$line"; fi
  done
  [ -s "$n/stop_status" ] && [ -s "$n/stop.log" ] \
    && printf 'stop_log %s\n' "$(tail -n 1 "$n/stop.log" | tr -d '\r')"
  # Whether the wrapper lives matters only until it has written the job's status.
  if [ -e "$n/pid" ] && [ ! -s "$n/status" ]; then
    if ! flock -s -n "$n/lock" true 2>/dev/null; then
      echo "wrapper alive"
    else
      # Scanned once, at the first lost record, for all of them.
      [ -n "${marked+x}" ] || { marked=$(marked_table); sessions=$(session_table); }
      echo "survivors $(job_survivors "$n" "$marked" "$sessions" | wc -l)"
    fi
  fi
  if [ -s "$n/status" ] && [ -f "$n/stop.sh" ] && [ ! -s "$n/stop_status" ] \
     && ! flock -s -n "$n/stop.lock" true 2>/dev/null; then
    echo "stop running"
  fi
  session_alive "$n" "$live" && echo "session alive"
  if [ -f "$n/watch.json" ]; then
    whole "$n/watch.json"
    case $text in *'"stop": {'*) echo "watched head stop" ;; *) echo "watched head" ;; esac
    if [ -f "$n/result.json" ]; then
      echo "watch_recorded yes"
      whole "$n/result.json"
      case $text in *'"stop_pending": true'*) ;; *) echo "watch_done yes" ;; esac
    fi
    # How the head's stop after the job went (one word, written with the result).
    if [ -s "$n/stop_state" ]; then first_line "$n/stop_state"; printf 'watch_stop %s\n' "$line"; fi
  fi
  if [ -s "$n/stop.claim" ]; then first_line "$n/stop.claim"; printf 'claim %s\n' "$line"; fi
done
