"""One campaign as plain functions, with no orchestrator in sight.

- :mod:`~arcloop.campaign.setup`: seeds per purpose, the split, truth and targets, the initial state;
- :mod:`~arcloop.campaign.steps`: the steps of an iteration (train, propose, label, measure) and the
  history they record;
- :mod:`~arcloop.campaign.state`: the campaign's state and its checkpoints (append-only logs);
- :mod:`~arcloop.campaign.run`: one campaign driven to the end through an executor (plain calls or
  Prefect tasks), with resume, safe-point stops and the oracle's retries and timeouts;
- :mod:`~arcloop.campaign.plain`: the same loop as plain calls, the overhead baseline.
"""
