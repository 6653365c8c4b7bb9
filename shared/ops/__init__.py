"""Operations on a service's failures and data: dead letters (list, show, replay, discard), held records (list,
release, discard), the outbox backlog, and pruning of bookkeeping rows past their retention. One set of actions
serves the CLI (``python -m shared.ops``) and each service's operations page (``/ops``); every action is audited in
``ops_actions`` with who, what, why and the outcome. Only ids leave this package, never a record's payload (the
CLI prints one only when asked with ``--payload``)."""
