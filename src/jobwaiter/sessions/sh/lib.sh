# Shared by the scripts that must tell whether processes of a job still run.
# job_pids NAME: the pids of live processes whose environment says they belong to job NAME
# (the wrapper gives every job JOBWAITER_JOB=NAME; children and daemons inherit it). This
# does not trust a pid file: after a job is lost its pid may belong to anyone.
# Our own processes must not count, when we run inside a job ourselves.
unset JOBWAITER_JOB
job_pids() {
  env -u JOBWAITER_JOB grep -lsFxz -- "JOBWAITER_JOB=$1" /proc/[0-9]*/environ 2>/dev/null \
    | sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | grep -vx -- "$$"
  return 0
}

# session_pids SID: the live processes of session SID. The wrapper of a tmux or screen job
# leads its own session, and Linux never hands out a number that a live process still uses
# as its session id: while such a process lives, it is the job's or a child of it that kept
# the session (even one that cleared its environment). Used to decide "is anything of the job
# left?", conservatively; only job_pids decides what may be signalled.
session_pids() {
  local f s a
  for f in /proc/[0-9]*/stat; do
    read -r s < "$f" 2>/dev/null || continue
    a=(${s##*) })
    [ "${a[3]}" = "$1" ] && [ "${a[0]}" != Z ] && echo "${f//[!0-9]/}"
  done
  return 0
}

# job_survivors NAME: every live process that may still be job NAME's.
job_survivors() {
  local sid=""
  [ -s "$HOME/.jobwaiter/jobs/$1/sid" ] && sid=$(cat "$HOME/.jobwaiter/jobs/$1/sid")
  { job_pids "$1"; [ -z "$sid" ] || session_pids "$sid"; } | sort -u
}
