# A worker's forced command for the key of the head of one cluster (jobs/workerkey.py): the
# head may run here only what jobwaiter's head does — read the job records, try the
# connection, run this worker's configured stop — each exactly as jobwaiter sends it.
# Usage (authorized_keys): from=...,restrict,command="bash $HOME/.jobwaiter/gate/CLUSTER"
# CLUSTER.allow, beside this file, holds NUL-separated pairs: the text of an allowed command
# before its frame's nonce, and after it. The nonce (24 hex digits) is drawn anew per call.
c=${SSH_ORIGINAL_COMMAND-}
allow=${BASH_SOURCE[0]}.allow
while IFS= read -r -d '' before && IFS= read -r -d '' after; do
  [ "${c:0:${#before}}" = "$before" ] || continue
  rest=${c:${#before}}
  [ "${#rest}" -ge "${#after}" ] || continue
  nonce=${rest:0:$((${#rest} - ${#after}))}
  [ "${rest:${#nonce}}" = "$after" ] || continue
  [[ $nonce =~ ^[0-9a-f]{24}$ ]] || continue
  exec bash -c "$c"
done < "$allow"
echo "jobwaiter: the head's key of this cluster may run only the head's reads and the" \
  "configured stop here" >&2
exit 126
