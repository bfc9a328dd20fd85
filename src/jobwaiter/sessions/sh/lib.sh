# Shared by the scripts that must tell whether a job's session or processes still run. Each
# table is one pass over /proc (or one question to tmux and screen), so that a listing of many
# jobs looks once, not per job.
# Our own processes must not count, when we run inside a job ourselves.
unset JOBWAITER_JOB

# marked_table: "pid job" for every live process whose environment names a job (the wrapper
# gives every job JOBWAITER_JOB=NAME; children and daemons inherit it). This does not trust a
# pid file: after a job is lost its pid may belong to anyone.
marked_table() {
  env -u JOBWAITER_JOB grep -sazo '^JOBWAITER_JOB=[^[:cntrl:]]*' /proc/[0-9]*/environ \
    2>/dev/null | tr '\0' '\n' | sed -n 's|^/proc/\([0-9]*\)/environ:JOBWAITER_JOB=|\1 |p' \
    | grep -v "^$$ "
  return 0
}

# session_table: "pid sid" for every live process. The wrapper of a tmux or screen job leads
# its own session, and Linux never hands out a number that a live process still uses as its
# session id: while such a process lives, it is the job's or a child of it that kept the
# session (even one that cleared its environment). Used to decide "is anything of the job
# left?", conservatively; only job_pids decides what may be signalled.
session_table() {
  local f s a
  for f in /proc/[0-9]*/stat; do
    read -r s < "$f" 2>/dev/null || continue
    a=(${s##*) })
    [ "${a[0]}" != Z ] && echo "${f//[!0-9]/} ${a[3]}"
  done
  return 0
}

# job_pids NAME [MARKED]: the live processes whose environment names job NAME.
job_pids() {
  printf '%s\n' "${2-$(marked_table)}" | awk -v n="$1" '$2 == n { print $1 }'
}

# job_survivors NAME [MARKED SESSIONS]: every live process that may still be job NAME's
# (tables as printed by the two above; scanned anew when not given).
job_survivors() {
  local sid=""
  [ -s "$HOME/.jobwaiter/jobs/$1/sid" ] && sid=$(cat "$HOME/.jobwaiter/jobs/$1/sid")
  {
    job_pids "$1" "${2-$(marked_table)}"
    [ -z "$sid" ] || printf '%s\n' "${3-$(session_table)}" | awk -v s="$sid" '$2 == s { print $1 }'
  } | sort -u
}

# live_sessions: the names of the tmux and screen sessions that have a server to answer for
# them, one a line. A screen server that was killed leaves its socket behind, listed as
# "(Dead ???)" or "(Remote or dead)" until somebody wipes it; a killed tmux server's socket
# answers nothing. Neither is a session: only "Attached"/"Detached" (also "Multi, ...") are.
# The one test of "is the session there" for every script, so that they all agree.
live_sessions() {
  tmux list-sessions -F '#{session_name}' 2>/dev/null
  screen -ls 2>/dev/null | sed -nE \
    's/^[[:space:]]*[0-9]+\.([^[:space:]]+)[[:space:]].*\((Multi, )?([Aa]ttached|[Dd]etached)\)[[:space:]]*$/\1/p'
  return 0
}

# session_alive NAME [LIVE]: whether NAME is one of the live sessions (LIVE as printed by
# live_sessions; asked anew when not given).
session_alive() {
  case $'\n'"${2-$(live_sessions)}"$'\n' in *$'\n'"$1"$'\n'*) return 0 ;; esac
  return 1
}

# end_session NAME: end job NAME's tmux or screen session, and wipe a dead screen socket of
# it. Says nothing on stdout: the scripts' answers are read from there.
end_session() {
  tmux kill-session -t "=$1" >/dev/null 2>&1
  # screen -S NAME matches prefixes: address the session by its exact "pid.name".
  local s
  for s in $(screen -ls 2>/dev/null | grep -oE "[0-9]+\.$1[[:space:]]"); do
    screen -S "$s" -X quit >/dev/null 2>&1
    screen -wipe "$s" >/dev/null 2>&1
  done
  return 0
}
