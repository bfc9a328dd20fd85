# jobwaiter job wrapper: runs one job and records how it ended.
# Usage: bash run.sh RECORD_DIR LOG TEE HOLD
#   LOG   path (relative to $HOME) that receives the job's stdout+stderr, or empty
#   TEE   1: also copy the log to our stdout (a foreground job with --job-log)
#   HOLD  1: keep the session open with a shell after the job (no waiter)
# The wrapper is the session's process. It must outlive Ctrl-C and SIGTERM sent to the job's
# process group long enough to write the status, so it catches them with a handler: an
# *ignored* signal (trap '') would be inherited by the job, a caught one is not. A hangup is
# not caught: when the session's server dies, the wrapper dies, the kernel hangs up the job
# as for any terminal, and the job is reported lost - nobody saw how it ended.
d=$1 log=$2 tee=$3 hold=$4

# The lock is held for exactly as long as the wrapper lives; waiters block on it (no polling).
exec 9>>"$d/lock" || exit 125
flock -x 9 || exit 125

# Run with the launching command's environment, not the one a long-lived tmux/screen server
# hands to new sessions; keep only what the session itself provides.
jw_keep=$(for v in TMUX TMUX_PANE STY WINDOW TERM; do
  [ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
done)
while read -r v; do unset "$v" 2>/dev/null; done < <(compgen -e)
. "$d/env.sh"
eval "$jw_keep"
unset jw_keep
cd || cd /

date +%s.%N > "$d/started"
echo "$$" > "$d/pid.tmp" && mv -f "$d/pid.tmp" "$d/pid"

trap ':' INT TERM

jw_cmd=$(<"$d/command")
# fd 9 is closed for the job so that a daemon it leaves behind cannot hold the lock.
if [ -z "$log" ]; then
  if [ -n "$STY$TMUX" ]; then bash -c "$jw_cmd" 9>&-; else bash -c "$jw_cmd" </dev/null 9>&-; fi
  rc=$?
elif [ "$tee" = 1 ]; then
  bash -c "$jw_cmd" </dev/null 2>&1 9>&- | (trap '' INT; exec tee -a "$log" 9>&-)
  rc=${PIPESTATUS[0]}
else
  if [ -n "$STY$TMUX" ]; then
    bash -c "$jw_cmd" >>"$log" 2>&1 9>&-
  else
    bash -c "$jw_cmd" </dev/null >>"$log" 2>&1 9>&-
  fi
  rc=$?
fi

# First writer wins (ln fails if the status exists): nothing after the job overwrites it.
printf '%s %s\n' "$rc" "$(date +%s.%N)" > "$d/status.$$"
ln "$d/status.$$" "$d/status" 2>/dev/null
rm -f "$d/status.$$"
exec 9>&-

if [ -f "$d/stop.sh" ]; then
  bash "$d/stop.sh" > "$d/stop.log" 2>&1
  printf '%s %s\n' "$?" "$(date +%s.%N)" > "$d/stop_status"
fi

if [ "$hold" = 1 ]; then
  trap - INT TERM
  printf '\n[jobwaiter] the job ended with status %s; this session stays open until you exit.\n' "$rc"
  exec bash -i
fi
exit "$rc"
