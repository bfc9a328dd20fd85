"""The head's watch: waiting and ``--stop`` that run on the head, so they survive the client.

One long-lived watcher per head user and jobwaiter version watches every armed job: it runs
each job's plan (``jobs.plan.JobPlan``: the waiters, ``--job-timeout``, then the stop) in a
thread of its own, records the result in the job's record, and exits when it has had nothing
to watch for a while (never while autostop is armed: ``watch.autostop`` keeps the idle clock
in a thread of the watcher, and stops the whole cluster once idle). The client ships this
code to the head (``jobs.watch``), arms a job by writing its order, and follows the records;
it can go away at any time.

Files, relative to ``$HOME`` on the head (all private, 0600 in 0700 directories):

    .jobwaiter/watch/watcher.lock      held (flock) by the watcher for its whole life
    .jobwaiter/watch/watcher.pid       "<pid> <boot id> <version>" of the watcher
    .jobwaiter/watch/watcher.log       what the watcher did, one line per event
    .jobwaiter/watch/autostop.json     autostop's order (armed while it exists): the idle time,
                                       the cluster's stop, the config, how workers are reached
    .jobwaiter/watch/autostop.state    one JSON line for status/jobs: the setting, the idle
                                       clock, what keeps the cluster busy, the stop's outcome
    .jobwaiter/watch/autostop.claim    made when autostop's stop starts (once per arming)
    .jobwaiter/jobs/<name>/watch.json  the order: the job's plan and the config as plain data
    .jobwaiter/jobs/<name>/watching    "<pid> <boot id> <time>": the watcher took the job
    .jobwaiter/jobs/<name>/progress    the wait's current state, one line
    .jobwaiter/jobs/<name>/result.json the job's result (JobResult.to_dict), then its stop's
    .jobwaiter/jobs/<name>/stop.claim  who runs the stop ("the head's watch", "a client", or
                                       "disarmed"): created once, atomically (sh/claim.sh)
    .jobwaiter/jobs/<name>/head_stop   "started <time>": the head's own stop commands began
    .jobwaiter/jobs/<name>/stop_state  what became of the stop after the job (one word)
    .jobwaiter/clusters/<cluster>.stop/ the journal of the cluster's last stop (jobs.transaction)

Stdlib only, python3 3.8+: this package runs on the head.
"""
