"""How to reach a Redis server: the settings every connection of a client shares.

:class:`RedisSettings` validates the client's arguments once, builds the
TLS context, and makes the green :class:`~greenpool.transport.Connection`
objects (with the handshake: ``HELLO 3``, ``AUTH``, ``CLIENT SETNAME``,
``SELECT``).  :func:`parse_url` reads ``redis://``, ``rediss://`` and
``unix://`` URLs.  Passwords never appear in a repr or an error message.

The TLS switches take only what says so plainly: ``ssl`` and
``ssl_check_hostname`` a bool, ``ssl_cert_reqs`` ``"required"``,
``"optional"``, ``"none"`` or an ``ssl.CERT_*`` constant; a TLS file option
(``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_ca_data``, ``ssl_certfile``,
``ssl_keyfile``, ``ssl_password``)
needs ``ssl=True`` and no ``ssl_context``.  Anything else is a
:class:`~greenpool.ConfigurationError`.  In a URL's query string,
``ssl_check_hostname`` and ``decode_responses`` are read from text
(``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``): the one
place text becomes a bool.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .._util import check_bool, check_float, check_int, mask_secret
from ..address import Address, parse_address
from ..errors import ConfigurationError, ReplyError
from ..protocol.resp import encode_command
from ..transport.connection import Connection
from ..transport.tls import cert_reqs_mode, make_ssl_context
from ._codec import RespCodec
from .commands._reply_modes import wire_protocol
from .exceptions import AuthenticationError, ResponseError

__all__ = ["RedisSettings", "parse_url"]


@dataclass
class RedisSettings:
    """Validated connection settings (see :class:`~greenpool.redis.Redis` for each)."""

    address: Address
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: redis-py's ``credential_provider``: asked for ``(password,)`` or
    #: ``(username, password)`` at every connect, instead of the two above.
    credential_provider: Any = field(default=None, repr=False)
    protocol: int = 2
    #: The ``protocol`` the client was given (None: none, which means RESP2 on
    #: the wire, or RESP3 without ``legacy_responses``) and ``legacy_responses``:
    #: together they choose the reply shapes (``commands._reply_modes.reshapes``).
    user_protocol: int | None = None
    legacy_responses: bool = True
    client_name: str | None = None
    socket_timeout: float | None = None
    socket_connect_timeout: float | None = 10.0
    decode_responses: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    ssl_context: ssl.SSLContext | None = None
    ssl_server_hostname: str | None = None
    #: redis-py's ``socket_keepalive_options``: TCP options set on each TCP
    #: connection (``{socket.TCP_KEEPIDLE: 30, ...}``); None: the system's.
    socket_keepalive_options: dict[int, int] | None = None
    #: Per-connection options set after construction (``CLIENT NO-EVICT ON`` ...),
    #: by name: sent by the handshake of every new connection.
    connection_commands: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    #: Where the server is, when it moves (Sentinel's clients): a
    #: :class:`~greenpool.redis.node.Locator` asked before each connect of
    #: every connection made from these settings; None: always ``address``.
    locator: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        *,
        host: str = "localhost",
        port: int = 6379,
        unix_socket_path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        protocol: int | None = None,
        legacy_responses: bool = True,
        client_name: str | None = None,
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = 10.0,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        ssl: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        ssl_ca_certs: str | None = None,
        ssl_ca_path: str | None = None,
        ssl_ca_data: str | bytes | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_password: str | None = None,
        ssl_cert_reqs: str | int = "required",
        ssl_check_hostname: bool = True,
        ssl_server_hostname: str | None = None,
        ssl_ciphers: str | None = None,
        ssl_min_version: ssl.TLSVersion | int | None = None,
        ssl_include_verify_flags: list[ssl.VerifyFlags] | None = None,
        ssl_exclude_verify_flags: list[ssl.VerifyFlags] | None = None,
        credential_provider: Any = None,
        socket_keepalive_options: Mapping[int, int] | None = None,
    ) -> RedisSettings:
        """Check every argument; raise ConfigurationError naming the first bad one.

        ``port`` and ``protocol`` may be decimal text (``"6379"``, ``"3"``,
        read from an environment variable), as redis-py takes them.
        """
        port = _from_text(port)
        protocol = _from_text(protocol)
        if unix_socket_path is not None:
            if not isinstance(unix_socket_path, str) or not unix_socket_path:
                raise ConfigurationError("unix_socket_path", unix_socket_path, "must be a path")
            address = Address(path=unix_socket_path)
        else:
            if not isinstance(host, str) or not host:
                raise ConfigurationError("host", host, "must be a host name or address")
            check_int("port", port, minimum=1)
            if port > 65535:
                raise ConfigurationError("port", port, "must be between 1 and 65535")
            address = parse_address((host, port), argument="host")
        check_int("db", db, minimum=0)
        if protocol is not None and (protocol not in (2, 3) or isinstance(protocol, bool)):
            raise ConfigurationError("protocol", protocol, "must be 2 or 3 (or None: 2)")
        check_bool("legacy_responses", legacy_responses)
        for name, value in (("username", username), ("client_name", client_name)):
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(name, value, "must be a string")
        if password is not None and not isinstance(password, str):
            raise ConfigurationError("password", password, "must be a string")
        check_float("socket_timeout", socket_timeout, allow_none=True, strict=True)
        check_float("socket_connect_timeout", socket_connect_timeout, allow_none=True, strict=True)
        check_bool("decode_responses", decode_responses)
        try:
            "".encode(encoding, encoding_errors)
        except (LookupError, TypeError):
            raise ConfigurationError("encoding", encoding, "unknown encoding") from None
        check_bool("ssl", ssl)
        # The TLS switches are checked even without TLS: a wrong value is a
        # mistake whether or not it would be used today.
        check_bool("ssl_check_hostname", ssl_check_hostname)
        cert_reqs_mode(ssl_cert_reqs)
        files: dict[str, Any] = {
            "ssl_ca_certs": ssl_ca_certs, "ssl_ca_path": ssl_ca_path,
            "ssl_ca_data": ssl_ca_data, "ssl_certfile": ssl_certfile,
            "ssl_keyfile": ssl_keyfile, "ssl_password": ssl_password,
            "ssl_ciphers": ssl_ciphers, "ssl_min_version": ssl_min_version,
            "ssl_include_verify_flags": ssl_include_verify_flags,
            "ssl_exclude_verify_flags": ssl_exclude_verify_flags,
        }
        for name, value in files.items():
            if value is not None and ssl_context is not None:
                raise ConfigurationError(name, value, "give ssl_context or this, not both")
            if value is not None and not ssl:
                # Ignoring it would leave the connection in clear text, unnoticed.
                raise ConfigurationError(name, value, "needs ssl=True (or a rediss:// URL)")
        context = ssl_context
        if context is None and ssl:
            context = make_ssl_context(
                ca_certs=ssl_ca_certs, ca_path=ssl_ca_path, ca_data=ssl_ca_data,
                certfile=ssl_certfile, keyfile=ssl_keyfile,
                password=ssl_password, cert_reqs=ssl_cert_reqs, check_hostname=ssl_check_hostname,
                ciphers=ssl_ciphers, minimum_version=_tls_version(ssl_min_version),
            )
            for flag in _verify_flags("ssl_include_verify_flags", ssl_include_verify_flags):
                context.verify_flags |= flag
            for flag in _verify_flags("ssl_exclude_verify_flags", ssl_exclude_verify_flags):
                context.verify_flags &= ~flag
        return cls(
            address=address, db=db, username=username, password=password,
            credential_provider=_checked_provider(credential_provider, username, password),
            protocol=wire_protocol(protocol, legacy_responses), user_protocol=protocol,
            legacy_responses=legacy_responses, client_name=client_name,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout, decode_responses=decode_responses,
            encoding=encoding, encoding_errors=encoding_errors, ssl_context=context,
            ssl_server_hostname=ssl_server_hostname,
            socket_keepalive_options=_tcp_options(socket_keepalive_options),
        )

    def codec(self) -> RespCodec:
        """A new RESP codec with these settings."""
        return RespCodec(
            self.protocol,
            encoding=self.encoding if self.decode_responses else None,
            errors=self.encoding_errors,
        )

    def new_connection(self, name: str | None = None) -> Connection:
        """A new, not yet connected, green connection doing this handshake on connect.

        With a :attr:`locator`, the connection asks it where the server is
        before each connect, and its codec is the one the locator wraps.
        """
        locator = self.locator
        return RedisConnection(
            self.address,
            codec=self.codec if locator is None else partial(_watched, locator, self.codec),
            locate=None if locator is None else locator.locate,
            connect_timeout=self.socket_connect_timeout,
            request_timeout=self.socket_timeout,
            ssl_context=self.ssl_context,
            server_hostname=self.ssl_server_hostname,
            handshake=self.handshake,
            name=name or f"redis {self.where}/{self.db}",
            tcp_options=self.socket_keepalive_options,
        )

    def handshake(self, conn: Connection) -> None:
        """Authenticate, choose the protocol, name the connection and select the db."""
        username, password = self._credentials()
        # A username alone authenticates as that user with an empty password,
        # which an ACL user with ``nopass`` accepts (as redis-py connects).
        authenticate = password is not None or bool(username)
        password = password or ""
        if self.protocol == 3:
            args: list[Any] = ["HELLO", 3]
            if authenticate:
                args += ["AUTH", username or "default", password]
            if self.client_name is not None:
                args += ["SETNAME", self.client_name]
            self._checked(conn, args, auth=authenticate)
        else:
            if authenticate:
                auth = [username, password] if username else [password]
                self._checked(conn, ["AUTH", *auth], auth=True)
            if self.client_name is not None:
                self._checked(conn, ["CLIENT", "SETNAME", self.client_name])
        for command in list(self.connection_commands.values()):
            self._checked(conn, list(command))
        if self.db:
            self._checked(conn, ["SELECT", self.db])

    def _credentials(self) -> tuple[str | None, str | None]:
        """``(username, password)``: the settings', or what the provider gives now."""
        provider = self.credential_provider
        if provider is None:
            return self.username, self.password
        try:
            creds = provider.get_credentials()
        except Exception as exc:
            raise AuthenticationError(
                f"redis at {self.address}: the credential provider failed: "
                f"{type(exc).__name__}", str(self.address),
            ) from None
        if (
            isinstance(creds, tuple) and len(creds) in (1, 2)
            and all(isinstance(c, str) for c in creds)
        ):
            return (None, creds[0]) if len(creds) == 1 else (creds[0], creds[1])
        raise AuthenticationError(
            f"redis at {self.address}: the credential provider must give (password,) "
            f"or (username, password) as text, not a {type(creds).__name__}",
            str(self.address),
        )

    def _checked(self, conn: Connection, args: list[Any], auth: bool = False) -> Any:
        reply = conn.request(encode_command(*args))
        if isinstance(reply, ReplyError):
            if auth and reply.kind in ("WRONGPASS", "NOAUTH", "NOPERM", "ERR"):
                # Never echo the command: it holds the password.
                raise AuthenticationError(
                    f"redis at {self.address} refused the credentials: {reply.kind}",
                    str(self.address),
                )
            raise ResponseError(f"{args[0]} failed during connect: {reply.message}")
        return reply

    def as_kwargs(self) -> dict[str, Any]:
        """These settings as keyword arguments of :class:`~greenpool.redis.Redis`
        (the credentials included, as redis-py's ``connection_kwargs`` hold them)."""
        kwargs: dict[str, Any] = (
            {"unix_socket_path": self.address.path} if self.address.is_unix
            else {"host": self.address.host, "port": self.address.port}
        )
        kwargs.update(
            db=self.db, username=self.username, password=self.password,
            credential_provider=self.credential_provider, protocol=self.user_protocol,
            legacy_responses=self.legacy_responses,
            client_name=self.client_name, socket_timeout=self.socket_timeout,
            socket_connect_timeout=self.socket_connect_timeout,
            decode_responses=self.decode_responses, encoding=self.encoding,
            encoding_errors=self.encoding_errors,
        )
        if self.socket_keepalive_options is not None:
            kwargs.update(socket_keepalive_options=dict(self.socket_keepalive_options))
        if self.ssl_context is not None:
            kwargs.update(ssl_context=self.ssl_context,
                          ssl_server_hostname=self.ssl_server_hostname)
        return kwargs

    @property
    def where(self) -> str:
        """Where the server is, for names and messages: ``host:port`` (or the
        socket's path), or the locator's name (``redis+sentinel://service``)
        when a locator finds it; ``address`` is then an unused default."""
        return str(self.locator) if self.locator is not None else str(self.address)

    def describe(self) -> str:
        """``redis://host:port/db`` (or ``unix://``), without credentials."""
        if self.locator is not None:
            return f"{self.locator}/{self.db}"
        if self.address.is_unix:
            return f"unix://{self.address.path}?db={self.db}"
        scheme = "rediss" if self.ssl_context is not None else "redis"
        return f"{scheme}://{self.address}/{self.db}"


class RedisConnection(Connection):
    """A green connection to Redis: its failed connects are worded as redis-py's."""

    def connect_failure(self, exc: BaseException) -> str:
        """redis-py's message for a failed connect: ``Error 111 connecting to
        host:port. Connection refused.`` (a unix socket: its path), or ``Error
        connecting to host:port. <reason>.`` when the error has no number."""
        address = self.address
        where = address.path if address.path is not None else f"{address.host}:{address.port}"
        if isinstance(exc, OSError) and exc.errno is not None:
            return f"Error {exc.errno} connecting to {where}. {exc.strerror}."
        return f"Error connecting to {where}. {exc}."


def _watched(locator: Any, codec: Callable[[], RespCodec]) -> Any:
    return locator.watch(codec())


def _tls_version(value: Any) -> ssl.TLSVersion | None:
    if value is None:
        return None
    try:
        return ssl.TLSVersion(value)
    except (ValueError, TypeError):
        raise ConfigurationError("ssl_min_version", value, "must be an ssl.TLSVersion") from None


def _verify_flags(argument: str, value: Any) -> list[ssl.VerifyFlags]:
    if value is None:
        return []
    try:
        return [ssl.VerifyFlags(flag) for flag in value]
    except (ValueError, TypeError):
        raise ConfigurationError(argument, value, "must be a list of ssl.VerifyFlags") from None


_BOOL = {"1": True, "true": True, "yes": True, "on": True,
         "0": False, "false": False, "no": False, "off": False}
_URL_OPTIONS: dict[str, Any] = {
    "db": int,
    "protocol": int,
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "client_name": str,
    "decode_responses": "bool",
    "encoding": str,
    "encoding_errors": str,
    "health_check_interval": float,
    "pool_size": int,
    "max_connections": int,
    "pool_timeout": float,
    "ssl_cert_reqs": str,
    "ssl_ca_certs": str,
    "ssl_ca_path": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_password": str,
    "ssl_check_hostname": "bool",
    "username": str,
    "password": str,
    "ssl_ciphers": str,
    "ssl_min_version": int,
    "ssl_include_verify_flags": "flags",
    "ssl_exclude_verify_flags": "flags",
    # redis-py's names for what greenpool calls otherwise, or does anyway:
    "timeout": float,  # the wait for a dedicated connection: pool_timeout
    "socket_read_size": int,
    "socket_keepalive": "bool",
    "retry_on_timeout": "bool",
    "retry_on_error": "list",
    "legacy_responses": "bool",
}

# Options redis-py reads that ask for what greenpool always does: the value that
# means it is accepted and dropped; any other is refused, saying why.
_AS_GREENPOOL_DOES: dict[str, tuple[Any, str]] = {
    "socket_keepalive": (True, "greenpool's connections always use TCP keepalive"),
    "retry_on_timeout": (False, "greenpool does not resend commands on its own (one may "
                                "have run); pass it with retry=Retry(...) "
                                "(greenpool.redis.retry), or call set_retry()"),
    "retry_on_error": ([], "greenpool does not resend commands on its own (one may have "
                           "run); pass it with retry=Retry(...) "
                           "(greenpool.redis.retry), or call set_retry()"),
    # redis-py's Redis() arguments for what greenpool does not do: only their
    # "off" values, which code passes through from its configuration.
    "single_connection_client": (False, "greenpool's commands share the client's connections "
                                        "between greenlets, and settings made on one "
                                        "(client_setname ...) reach them all; pool_size=1 "
                                        "gives one shared connection"),
    "lib_name": (None, "greenpool sends no CLIENT SETINFO when it connects; call "
                       "client_setinfo('LIB-NAME', name), which every connection keeps"),
    "lib_version": (None, "greenpool sends no CLIENT SETINFO when it connects; call "
                          "client_setinfo('LIB-VER', version), which every connection keeps"),
    "driver_info": (None, "greenpool sends no CLIENT SETINFO when it connects; call "
                          "client_setinfo('LIB-NAME', name), which every connection keeps"),
    "event_dispatcher": (None, "greenpool has no redis-py event dispatcher (a "
                               "credential_provider is asked at every connect)"),
    "cache": (None, "client-side caching is not supported yet"),
    "cache_config": (None, "client-side caching is not supported yet"),
    "redis_connect_func": (None, "greenpool runs its own connect handshake (credentials, "
                                 "protocol, client_name, db)"),
    "ssl_validate_ocsp": (False, "OCSP checks are not supported"),
    "ssl_validate_ocsp_stapled": (False, "OCSP checks are not supported"),
    "ssl_ocsp_context": (None, "OCSP checks are not supported"),
    "ssl_ocsp_expected_cert": (None, "OCSP checks are not supported"),
    "maint_notifications_config": (None, "maintenance notifications are not supported"),
    "oss_cluster_maint_notifications_handler": (None, "maintenance notifications are not "
                                                      "supported"),
}


def check_as_greenpool_does(name: str, value: Any) -> None:
    """Accept a redis-py option that asks for what greenpool always does
    (``socket_keepalive=True``, ``retry_on_timeout=False``, an empty
    ``retry_on_error``, a ``maint_notifications_config`` whose ``enabled`` is
    False); raise
    ConfigurationError, saying why, for any other value."""
    accepted, why = _AS_GREENPOOL_DOES[name]
    if name == "retry_on_error" and value is None:
        return
    if name == "maint_notifications_config" and getattr(value, "enabled", None) is False:
        return  # redis-py's MaintNotificationsConfig(enabled=False): off, as here
    if value != accepted or type(value) is not type(accepted):
        raise ConfigurationError(name, value, why)


def _tcp_options(options: Any) -> dict[int, int] | None:
    """redis-py's ``socket_keepalive_options`` checked: a mapping of TCP option
    numbers (``socket.TCP_KEEPIDLE`` ...) to integers, or None."""
    if options is None:
        return None
    if not isinstance(options, Mapping) or not all(
            isinstance(key, int) and not isinstance(key, bool)
            and isinstance(value, int) and not isinstance(value, bool)
            for key, value in options.items()):
        raise ConfigurationError("socket_keepalive_options", options,
                                 "must map socket.TCP_* options to integers")
    # Set once on a socket that never connects: an option or a value this
    # system refuses is a configuration error here, not a failure of every
    # connect later.
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for option, value in options.items():
            try:
                probe.setsockopt(socket.IPPROTO_TCP, option, value)
            except OSError as exc:
                raise ConfigurationError("socket_keepalive_options", options,
                                         f"option {option} = {value} refused: {exc}") from None
    finally:
        probe.close()
    return dict(options)


def parse_url(url: str) -> dict[str, Any]:
    """Turn a ``redis://``, ``rediss://`` or ``unix://`` URL into client keyword arguments.

    ``redis://[[user]:password@]host[:port][/db][?option=value...]``;
    ``unix:///path/to/socket?db=1``.  An option with an empty value is left
    out, as redis-py leaves it.  Raises ConfigurationError (with the password
    masked) for anything it can't read, a scheme without ``//`` included
    (the scheme itself may be in capitals).
    """
    if not isinstance(url, str):
        raise ConfigurationError("url", url, "must be a string")
    shown = mask_secret(url)
    parts = urllib.parse.urlsplit(url)
    kwargs: dict[str, Any] = {}
    if parts.scheme not in ("redis", "rediss", "unix") or not url.lower().startswith(
        f"{parts.scheme}://"
    ):
        # "redis:host:6379" too: without the slashes the host would be read as
        # the path (refused by redis-py as well; the scheme in any case)
        raise ConfigurationError("url", shown, "the scheme must be redis://, rediss:// or unix://")
    if parts.username:
        kwargs["username"] = urllib.parse.unquote(parts.username)
    if parts.password is not None:
        kwargs["password"] = urllib.parse.unquote(parts.password)
        if not parts.username:
            kwargs.pop("username", None)
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigurationError("url", shown, "a unix:// URL needs a socket path")
        kwargs["unix_socket_path"] = urllib.parse.unquote(parts.path)
    else:
        if parts.hostname:
            kwargs["host"] = urllib.parse.unquote(parts.hostname)
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError("url", shown, "bad port") from None
        if port is not None:
            kwargs["port"] = port
        path = parts.path.strip("/")
        if path:
            try:
                kwargs["db"] = int(path)
            except ValueError:
                raise ConfigurationError("url", shown, f"bad database number {path!r}") from None
        if parts.scheme == "rediss":
            kwargs["ssl"] = True
    # An option with no value (``?socket_keepalive=``) is not given, as in redis-py.
    for key, values in urllib.parse.parse_qs(parts.query).items():
        kind = _URL_OPTIONS.get(key)
        if kind is None:
            raise ConfigurationError("url", shown, f"unknown option {key!r}")
        raw = values[-1]
        try:
            if kind == "bool":
                value: Any = _BOOL[raw.lower()]
            elif kind == "flags":
                names = [n.strip() for n in raw.strip("[]").split(",") if n.strip()]
                value = [ssl.VerifyFlags[name] for name in names]
            elif kind == "list":
                value = [n.strip() for n in raw.strip("[]").split(",") if n.strip()]
            else:
                value = kind(raw)
        except (KeyError, ValueError):
            raise ConfigurationError(key, raw, "bad value in the URL") from None
        if key in _AS_GREENPOOL_DOES:
            check_as_greenpool_does(key, value)
        elif key == "socket_read_size":
            if value < 1:
                raise ConfigurationError(key, value, "must be >= 1")
            # Accepted and dropped: greenpool's reader sizes its reads itself.
        elif key == "timeout":
            kwargs["pool_timeout"] = value
        else:
            kwargs[key] = value
    return kwargs


def _from_text(value: Any) -> Any:
    """An int given as decimal text (``"6379"``), as an int; anything else unchanged."""
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value)
    return value


def _checked_provider(provider: Any, username: str | None, password: str | None) -> Any:
    """redis-py's rule: a ``credential_provider`` with a ``get_credentials()``, and not
    together with ``username`` or ``password``."""
    if provider is None:
        return None
    if not callable(getattr(provider, "get_credentials", None)):
        raise ConfigurationError(
            "credential_provider", type(provider).__name__, "has no get_credentials() method"
        )
    if username or password:
        raise ConfigurationError(
            "credential_provider", type(provider).__name__,
            "is given with username or password: give one or the other",
        )
    return provider
