# Print job records as "key value" lines, one block per job starting with "@@ NAME".
# Usage: bash -c "$(lib.sh dump.sh)" jw [NAME...]   (no NAME: every record)
# Before the records, with no NAME: autostop as the head keeps it (its order is private and
# not printed; the state line holds no secret), and whether a watcher of this boot runs.
w=$HOME/.jobwaiter/watch
if [ $# -eq 0 ] && { [ -f "$w/autostop.json" ] || [ -s "$w/autostop.state" ]; }; then
  if [ -f "$w/autostop.json" ]; then echo "autostop_armed yes"; else echo "autostop_armed no"; fi
  [ ! -s "$w/autostop.state" ] || printf 'autostop_state %s\n' "$(head -n 1 "$w/autostop.state")"
  printf 'autostop_now %s\n' "$(date +%s.%N)"
  printf 'autostop_boot %s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
  if [ -f "$w/watcher.lock" ] && ! flock -s -n "$w/watcher.lock" true 2>/dev/null; then
    echo "autostop_watcher yes"
  else
    echo "autostop_watcher no"
  fi
fi
cd "$HOME/.jobwaiter/jobs" 2>/dev/null || exit 0
tmux_alive=$(tmux list-sessions -F '#{session_name}' 2>/dev/null)
screen_alive=$(screen -ls 2>/dev/null | sed -n 's/^[[:space:]]*[0-9]*\.\([^[:space:]]*\)[[:space:]].*/\1/p')
[ $# -gt 0 ] || set -- jobwaiter-*
for n in "$@"; do
  [ -d "$n" ] || continue
  echo "@@ $n"
  for f in meta started status pid stop_status killed waited; do
    p=$n/$f; [ "$f" = meta ] && p=$n/meta.json
    [ -s "$p" ] && printf '%s %s\n' "$f" "$(head -n 1 "$p")"
  done
  [ -s "$n/stop_status" ] && [ -s "$n/stop.log" ] \
    && printf 'stop_log %s\n' "$(tail -n 1 "$n/stop.log" | tr -d '\r')"
  if [ -e "$n/pid" ] && ! flock -s -n "$n/lock" true 2>/dev/null; then
    echo "wrapper alive"
  elif [ -e "$n/pid" ] && [ ! -s "$n/status" ]; then
    # Scanned once, at the first lost record, for all of them.
    [ -n "${marked+x}" ] || { marked=$(marked_table); sessions=$(session_table); }
    echo "survivors $(job_survivors "$n" "$marked" "$sessions" | wc -l)"
  fi
  if [ -s "$n/status" ] && [ -f "$n/stop.sh" ] && [ ! -s "$n/stop_status" ] \
     && ! flock -s -n "$n/stop.lock" true 2>/dev/null; then
    echo "stop running"
  fi
  if printf '%s\n' "$tmux_alive" "$screen_alive" | grep -qx -- "$n"; then echo "session alive"; fi
  if [ -f "$n/watch.json" ]; then
    if grep -q '"stop": {' "$n/watch.json"; then echo "watched head stop"; else echo "watched head"; fi
    [ ! -f "$n/result.json" ] || grep -q '"stop_pending": true' "$n/result.json" \
      || echo "watch_done yes"
    # How the head's stop after the job went (its result.json), when it ran.
    case $(grep -o '"stop": {[^}]*}' "$n/result.json" 2>/dev/null) in
      *'"ok": false'*) echo "watch_stop failed" ;;
      *'"ok": true'*) echo "watch_stop ok" ;;
    esac
  fi
  [ ! -s "$n/stop.claim" ] || printf 'claim %s\n' "$(head -n 1 "$n/stop.claim")"
done
