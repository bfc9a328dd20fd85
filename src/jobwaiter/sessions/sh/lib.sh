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
