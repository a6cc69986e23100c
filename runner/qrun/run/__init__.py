"""The run pipeline: a checked manifest in, a run record out.

* :mod:`~qrun.run.plan` — the resolved backend, ISA circuits, PUBs and the work they are
  (with :mod:`~qrun.run.circuits` and :mod:`~qrun.run.transpilation`);
* :mod:`~qrun.run.execute` — the channel (session, batch or jobs) opened, jobs submitted,
  workloads run, results collected;
* :mod:`~qrun.run.record` and :mod:`~qrun.run.results` — the run record's documents;
* :mod:`~qrun.run.review` and :mod:`~qrun.run.progress` — what a terminal shows;
* :mod:`~qrun.run.pipeline` — :func:`~qrun.run.pipeline.run_manifest`, all of it in order.

Nothing is imported here, so a module of the pipeline costs only what it uses.
"""
