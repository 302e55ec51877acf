"""Where the model and impl meet: abstraction, lock-step harness, replay, trace checking, soak.

Neither :mod:`model` nor :mod:`impl` imports this package; it imports both, and
holds them to each other: the Hypothesis machine (:mod:`conformance.machine`)
runs them in lock-step, :mod:`conformance.tracecheck` replays impl's event log
on the model, :mod:`conformance.replay` plays a model trace on impl, and
:mod:`conformance.crosscheck` compares impl with a real CPython 3.13.
"""
