"""Random ids: a UUID version 4 as 32 hex digits, the form ``uuid.uuid4().hex`` gives.

A new contact takes several (its id, its customer's, its gateway events'); ``uuid.uuid4()``
builds a ``UUID`` object for each (its constructor checks and converts in Python) only for
``.hex`` to format it again. Here the same 122 random bits, version and variant are set on
an int and formatted once: the same distribution and form, about a third of the work.
"""

from __future__ import annotations

import os

_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # the version's nibble, the variant's two bits
_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, variant RFC 4122


def new_id() -> str:
    """A new random id: ``uuid.uuid4().hex`` without the ``UUID`` object."""
    return f"{int.from_bytes(os.urandom(16)) & _CLEAR | _SET:032x}"
