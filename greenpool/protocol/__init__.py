"""greenpool.protocol: wire-protocol codecs without I/O; nothing here touches a socket.

One module (or package) per wire protocol: ``resp`` for Redis, ``iproto``
for Tarantool.  The connection layer turns requests into bytes with these
codecs, writes them itself, and feeds the bytes it reads back into a parser.

Every parser speaks one vocabulary: ``feed(data)``, then ``gets()`` (the next
reply, or :data:`NEED_DATA`) or ``read_all()`` (every complete reply), with
``failed`` and ``buffered`` to look at.  Each bounds what a hostile stream
can cost (lengths, lines, nesting) and says how in its module docstring;
bytes that break the protocol or a limit raise
:class:`~greenpool.errors.ProtocolError`.

The RESP (Redis) codec is re-exported here: :func:`encode_command`,
:func:`encode_commands` and the incremental :class:`RespParser` (hiredis when
installed, pure Python otherwise, identical results either way).
"""

from __future__ import annotations

from .resp import (
    HIREDIS_AVAILABLE,
    NEED_DATA,
    CommandArg,
    Push,
    RespParser,
    encode_command,
    encode_commands,
)

__all__ = [
    "HIREDIS_AVAILABLE",
    "NEED_DATA",
    "CommandArg",
    "Push",
    "RespParser",
    "encode_command",
    "encode_commands",
]
