"""The variant file of the README of gilcheck 0.1.0, before the layout moved, unchanged.

It registers a mutant from the repository's tests, so it runs from a clone (the
repository on sys.path), as it did then; tests/test_packaging.py checks it still does.
"""

# my_variants.py
from model.variants import register
from tests.model.mutants import LoopedSwitchWait

register("looped-switch-wait", LoopedSwitchWait)
