"""The ``gilcheck`` command: verify, catalogue, replay and soak, and their reports.

This package sits on top: it reads the command line, resolves the variant to a
model class once, runs the engines (:mod:`engines`) or the conformance harness
(:mod:`conformance`), and renders the result (:mod:`gilcheck.report`,
:mod:`gilcheck.itf`). Nothing else imports it.
"""
