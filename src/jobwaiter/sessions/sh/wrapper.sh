# jobwaiter job wrapper: runs one job and records how it ended.
# Usage: bash run.sh RECORD_DIR LOG TEE HOLD KIND UMASK
#   LOG   path (relative to $HOME) that receives the job's stdout+stderr, or empty
#   TEE   1: also copy the log to our stdout (a foreground job with --job-log)
#   HOLD  1: keep the session open with a shell after the job (no waiter)
#   KIND  tmux, screen or foreground
#   UMASK the launching command's umask, which the job gets (the record itself is private)
# The wrapper is the session's process. It must outlive Ctrl-C and SIGTERM sent to the job's
# process group long enough to write the status, so it catches them with a handler: an
# *ignored* signal (trap '') would be inherited by the job, a caught one is not. A hangup is
# not caught: when the session's server dies, the wrapper dies, the kernel hangs up the job
# as for any terminal, and the job is reported lost - nobody saw how it ended.
#
# The job's environment is never loaded into this shell: the job runs under `env -i` with
# exactly the saved launch environment, so nothing in it (d=..., PATH=, log=...) can touch
# the wrapper's own state.
umask 077
d=$1 log=$2 tee=$3 hold=$4 kind=$5 jw_umask=$6

# The lock is held for exactly as long as the wrapper lives; waiters block on it (no polling).
exec 9>>"$d/lock" || exit 125
flock -x 9 || exit 125
# A stop inside the session has its own lock, held from now until its status is written, so
# that a reader who sees the job's status can wait for the stop's too.
if [ -f "$d/stop.sh" ]; then
  exec 8>>"$d/stop.lock" || exit 125
  flock -x 8 || exit 125
fi

# The launch environment (NUL-separated, later entries win), then what the session itself
# provides. The saved copy is removed as soon as it is read: it may hold secrets.
mapfile -d '' jw_saved < "$d/env.0" || exit 125
rm -f "$d/env.0"
# Only NAME=VALUE entries: env(1) would take anything else for the command to run.
jw_env=()
for e in "${jw_saved[@]}"; do [[ $e == [!=]*=* ]] && jw_env+=("$e"); done
unset jw_saved e
jw_name=${d##*/}
for v in TMUX TMUX_PANE STY WINDOW TERM; do
  [ -n "${!v+x}" ] && jw_env+=("$v=${!v}")
done
jw_stop_env=("${jw_env[@]}")
jw_env+=("JOBWAITER_JOB=$jw_name")
jw_cmd=$(<"$d/command")
cd || cd /

# A session leader (tmux, screen) says so: its session id then finds the job's processes
# later, even those that cleared JOBWAITER_JOB from their environment.
read -r jw_stat < "/proc/$$/stat"
jw_fields=(${jw_stat##*) })
[ "${jw_fields[3]}" = "$$" ] && echo "$$" > "$d/sid"
unset jw_stat jw_fields

date +%s.%N > "$d/started"
echo "$$" > "$d/pid.tmp" && mv -f "$d/pid.tmp" "$d/pid"

trap ':' INT TERM

# Runs the job: the launching umask, exactly its environment, fd 9 closed so that a daemon
# it leaves behind cannot hold the lock. $BASH: env must not look bash up in the job's PATH.
job() { (umask "$jw_umask"; exec env -i -- "${jw_env[@]}" "$BASH" -c "$jw_cmd") 9>&- 8>&-; }

if [ -z "$log" ]; then
  if [ "$kind" != foreground ]; then job; else job </dev/null; fi
  rc=$?
elif [ "$tee" = 1 ]; then
  job </dev/null 2>&1 | (trap '' INT; exec tee -a "$log" 9>&- 8>&-)
  rc=${PIPESTATUS[0]}
else
  if [ "$kind" != foreground ]; then job >>"$log" 2>&1; else job </dev/null >>"$log" 2>&1; fi
  rc=$?
fi

# First writer wins (ln fails if the status exists): nothing after the job overwrites it.
printf '%s %s\n' "$rc" "$(date +%s.%N)" > "$d/status.$$"
ln "$d/status.$$" "$d/status" 2>/dev/null
rm -f "$d/status.$$"
exec 9>&-

# The stop is claimed like any other (sh/claim.sh): `jobwaiter disarm` may have taken it.
if [ -f "$d/stop.sh" ] && ! (set -C; echo "the job's session" > "$d/stop.claim") 2>/dev/null
then
  rm -f "$d/stop.sh"
fi
if [ -f "$d/stop.sh" ]; then
  (umask "$jw_umask"; exec env -i -- "${jw_stop_env[@]}" "$BASH" "$d/stop.sh") \
    > "$d/stop.log" 2>&1 8>&-
  printf '%s %s\n' "$?" "$(date +%s.%N)" > "$d/stop_status.$$"
  mv -f "$d/stop_status.$$" "$d/stop_status"
fi
[ ! -e /dev/fd/8 ] || exec 8>&-

# A job ended by `jobwaiter kill` is not held open: kill ends its session, and a shell kept
# there (it carries JOBWAITER_JOB and ignores TERM) would look like the job still running.
if [ "$hold" = 1 ] && [ ! -e "$d/killed" ]; then
  trap - INT TERM
  printf '\n[jobwaiter] the job ended with status %s; this session stays open until you exit.\n' "$rc"
  exec env -i -- "${jw_env[@]}" "$BASH" -i
fi
exit "$rc"
