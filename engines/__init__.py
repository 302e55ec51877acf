"""The engines that check the model: z3 (BMC, k-induction), explicit search, the vacuity guard.

Each engine interprets the one model of :mod:`model` in its own way (z3 terms
in :mod:`engines.symbolic`, Python values in :mod:`engines.explicit`) and never
redefines a transition or a property. :func:`engines.verify.verify` runs them
over a model class and a configuration and returns a
:class:`engines.verdicts.Report`. The model never imports this package.
"""
