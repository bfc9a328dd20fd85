# Shared by the scripts that must tell whether processes of a job still run. Each table is
# one pass over /proc, so that a listing of many jobs scans the processes once, not per job.
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
