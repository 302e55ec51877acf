"""The example of README.md, "Writing a variant", verbatim below this docstring.

tests/test_packaging.py checks that the README's block is this file's text and
runs ``gilcheck verify --load`` on it. Edit the README, then copy the block here.
"""

# my_variants.py
import dataclasses
from typing import Any

from model.actions import Effect
from model.phases import Phase
from model.protocol import Cpython313
from model.state import State
from model.variants import register


class LoopedSwitchWait(Cpython313[Any, Any]):
    """``while (last_holder == tstate) COND_WAIT(switch_cond)``: no spurious end."""

    def switch_wake(self, s: State[Any, Any], t: int) -> Effect:
        d = self.d
        me = s.threads[t]
        yield d.all(d.eq(me.phase, Phase.SWITCH_WAIT), d.ne(s.last_holder, t))
        return self.with_thread(s, t, dataclasses.replace(me, phase=d.int_(Phase.DETACHED)))


register("looped-switch-wait", LoopedSwitchWait)
