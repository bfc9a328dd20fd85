# submit --runtime slurm: sbatch a script and record the job id for the job's waiter. Usage:
#   bash -c "$(submit.sh)" jw SLURM_CONF BIN_DIR SCRIPT [ARGS...]
# It runs as a jobwaiter job, whose wrapper names it in JOBWAITER_JOB: that record receives
# the id in slurm-jobs. sbatch's exit status is ours.
set -u
conf=$1 bin=$2
shift 2
[ -z "$conf" ] || export SLURM_CONF="$conf"
[ -z "$bin" ] || PATH="$bin:$PATH"
rec=$HOME/.jobwaiter/jobs/${JOBWAITER_JOB:-}
# Without the record the waiter could not tell which Slurm job is this one's: submit nothing.
case ${JOBWAITER_JOB:-} in
  jobwaiter-[0-9a-f]*) [ -d "$rec" ] ;;
  *) false ;;
esac || { echo "jobwaiter: not run as a jobwaiter job (JOBWAITER_JOB unset)" >&2; exit 125; }
out=$(sbatch --parsable "$@") || exit $?
id=${out%%;*}   # --parsable prints "id" or "id;cluster"
case $id in
  ''|*[!0-9]*) echo "jobwaiter: sbatch printed no job id: $out" >&2; exit 125 ;;
esac
printf '%s\n' "$id" >> "$rec/slurm-jobs"
echo "submitted Slurm job $id${out#"$id"}" >&2
