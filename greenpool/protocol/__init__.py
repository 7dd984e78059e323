"""greenpool.protocol: wire-protocol codecs without I/O; nothing here touches a socket.

One module per wire protocol.  The connection layer turns requests into
bytes with these codecs, writes them itself, and feeds the bytes it reads
back into a parser.

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
