# submit --runtime slurm: sbatch a script and record the job id for the job's waiter. Usage:
#   bash -c "$(submit.sh)" jw WRAPPER_PID SLURM_CONF BIN_DIR SCRIPT [ARGS...]
# WRAPPER_PID is the jobwaiter wrapper that runs this command: its record directory (the one
# whose pid file holds it) receives the id in slurm-jobs. sbatch's exit status is ours.
set -u
wpid=$1 conf=$2 bin=$3
shift 3
[ -z "$conf" ] || export SLURM_CONF="$conf"
[ -z "$bin" ] || PATH="$bin:$PATH"
rec=
for f in "$HOME"/.jobwaiter/jobs/*/pid; do
  [ -f "$f" ] && [ "$(cat "$f")" = "$wpid" ] && { rec=${f%/pid}; break; }
done
# Without the record the waiter could not tell which Slurm job is this one's: submit nothing.
[ -n "$rec" ] || { echo "jobwaiter: cannot find this job's record (wrapper pid $wpid)" >&2; exit 125; }
out=$(sbatch --parsable "$@") || exit $?
id=${out%%;*}   # --parsable prints "id" or "id;cluster"
case $id in
  ''|*[!0-9]*) echo "jobwaiter: sbatch printed no job id: $out" >&2; exit 125 ;;
esac
printf '%s\n' "$id" >> "$rec/slurm-jobs"
echo "submitted Slurm job $id${out#"$id"}" >&2
