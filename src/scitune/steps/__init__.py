"""The playbook's steps: one module per thing a user does, each reading top to bottom and calling
the pure functions of :mod:`scitune.analysis` on what :mod:`scitune.store` holds.

=================  =================================================================  ==================
module             what it does                                                       command
=================  =================================================================  ==================
``run``            run or resume every study of an experiment (local or Ray)          ``run``
``results``        per-study status, the trial table, each study's best checkpoint   ``status``, ``trials``, ``best``
``retrain``        rerun a trial with other seeds: its retrain variance               ``retrain``
``decide``         compare two trials' reruns; launch an incumbent                    ``compare``, ``launch``, ``launches``, ``incumbent``
``log``            the experiment log and notes                                       ``log``, ``note``
``report``         the post-study checks, plots and findings as one HTML page         ``report``
``refine``         a narrower space for the Bayesian round                            ``refine``
``final_test``     the final test-set check of the chosen trial                       ``test``
``step_budget``    max_train_steps from a learning-rate sweep; check best steps       ``steps sweep``, ``steps check``
``warmup``         the two-step warmup protocol                                       ``warmup``
``stability``      loss spikes, gradient norms, a clipping threshold                  ``stability``
``batch_size``     throughput and steps-to-result by batch size                       ``batch-size``
``round2``         a longer Round 2 from a finished Round 1                           ``round2``
``adam``           Adam's search space for a trial budget                             ``adam-preset``
``naming``         how a trial is named (``STUDY/NUMBER``, ``best``, an id, ...)     (every ``--trial``)
=================  =================================================================  ==================

Nothing is imported here: ``import scitune.steps.run`` loads only what running needs.
"""
