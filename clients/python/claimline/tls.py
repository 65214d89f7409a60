"""TLS (and mutual TLS) for both clients (PROTOCOL.md section 2.1), with the standard ``ssl`` module.

    tls = TLSConfig(ca_file="ca.pem")                                    # verify the server
    tls = TLSConfig(ca_file="ca.pem", cert_file="me.pem", key_file="me.key")  # and present a client cert
    client = ClaimlineClient.connect("127.0.0.1", 7400, "", "ops", tls=tls)

``tls=`` of :meth:`ClaimlineClient.connect` and :meth:`AsyncClaimlineClient.connect` takes a
:class:`TLSConfig` or an ``ssl.SSLContext`` the caller made; every address of a failover client
uses the same settings. A client given ``tls=`` never falls back to plain TCP. TLS failures are
:class:`~claimline.ClaimlineError` UNAVAILABLE (like "cannot connect": failover moves to the next
address) with reason ``TLS_CERTIFICATE_VERIFY_FAILED`` (the server's certificate was not
trusted) or ``TLS_HANDSHAKE_FAILED`` (anything else: a refused client certificate, a port that
does not speak TLS, a close during the handshake).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Optional, Union

__all__ = ["TLSConfig", "TLS_CERTIFICATE_VERIFY_FAILED", "TLS_HANDSHAKE_FAILED"]

#: Reason of the ClaimlineError when the server's certificate fails verification (chain or name).
TLS_CERTIFICATE_VERIFY_FAILED = "TLS_CERTIFICATE_VERIFY_FAILED"
#: Reason of the ClaimlineError for any other failure of TLS before HELLO_ACK.
TLS_HANDSHAKE_FAILED = "TLS_HANDSHAKE_FAILED"

StrPath = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class TLSConfig:
    """How a client speaks TLS to claimlined.

    - ``ca_file``: PEM file of the CA(s) the server's certificate must chain to; None: the
      system's default trust store.
    - ``cert_file``, ``key_file``: the client certificate (PEM, may hold the chain) and its key,
      for mutual TLS; both or neither (``key_file`` may be omitted when ``cert_file`` holds the key).
    - ``server_hostname``: verify the server as this name (and send it in SNI) instead of the
      host dialled; for an IP address the certificate's IP SAN is checked.
    - ``verify_hostname``: False checks the chain only (a certificate for another name). The
      certificate itself is always verified.

    TLS 1.2 is the minimum. The files are read when the client connects (:meth:`create_context`);
    a file that cannot be used raises ValueError.
    """

    ca_file: Optional[StrPath] = None
    cert_file: Optional[StrPath] = None
    key_file: Optional[StrPath] = None
    server_hostname: Optional[str] = None
    verify_hostname: bool = True

    def create_context(self) -> ssl.SSLContext:
        """A client ``ssl.SSLContext`` of these settings (CERT_REQUIRED, TLS >= 1.2)."""
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("TLSConfig: key_file given without cert_file")
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"TLS CA file {self.ca_file}: {error}") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.verify_hostname
        context.verify_mode = ssl.CERT_REQUIRED
        if self.cert_file is not None:
            try:
                context.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as error:
                raise ValueError(
                    f"TLS client certificate {self.cert_file} (key {self.key_file or 'in the same file'}): {error}"
                ) from None
        return context


class _TLS:
    """The resolved TLS settings of a client: one context shared by all its connections."""

    __slots__ = ("context", "server_hostname")

    def __init__(self, context: ssl.SSLContext, server_hostname: Optional[str]) -> None:
        self.context = context
        self.server_hostname = server_hostname

    def hostname_for(self, host: str) -> str:
        """The name to verify (and to send in SNI; Python sends none for an IP address)."""
        return self.server_hostname or host


def _resolve_tls(tls: Union[None, TLSConfig, ssl.SSLContext]) -> Optional[_TLS]:
    if tls is None:
        return None
    if isinstance(tls, ssl.SSLContext):
        return _TLS(tls, None)
    if isinstance(tls, TLSConfig):
        return _TLS(tls.create_context(), tls.server_hostname)
    raise TypeError(f"tls must be a TLSConfig or an ssl.SSLContext, got {type(tls).__name__}")


_HINTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the server requires a client certificate",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server refused the handshake (a client certificate required?)",
    "TLSV1_ALERT_UNKNOWN_CA": "the server does not trust the client certificate",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server refused the client certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the server refused the client certificate",
    "WRONG_VERSION_NUMBER": "the server does not speak TLS on this port",
    "RECORD_LAYER_FAILURE": "the server does not speak TLS on this port",
    "PACKET_LENGTH_TOO_LONG": "the server does not speak TLS on this port",
    "UNEXPECTED_EOF_WHILE_READING": "the server closed the connection during the TLS handshake",
}


def _tls_failure(error: BaseException, label: str) -> "tuple[str, str]":
    """(message, reason) of a TLS failure with `label` (host:port)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or str(error)
        return (
            f"TLS handshake with {label} failed: the server's certificate did not verify: {detail}",
            TLS_CERTIFICATE_VERIFY_FAILED,
        )
    if isinstance(error, ssl.SSLError):
        code = error.reason or ""
        hint = _HINTS.get(code)
        text = str(error.args[1]) if len(error.args) > 1 else str(error)
        return f"TLS handshake with {label} failed: {text}" + (f" ({hint})" if hint else ""), TLS_HANDSHAKE_FAILED
    if isinstance(error, ConnectionError) or isinstance(error, EOFError):
        return f"TLS handshake with {label} failed: the server closed the connection ({error})", TLS_HANDSHAKE_FAILED
    return f"TLS handshake with {label} failed: {error}", TLS_HANDSHAKE_FAILED


def _closed_before_hello_ack(label: str, detail: str) -> "tuple[str, str]":
    """(message, reason) of a TLS connection lost before HELLO_ACK without a GOAWAY: a server
    refusing the client certificate (TLS 1.3 does so after the client's side of the handshake)
    may just close."""
    return (
        f"TLS handshake with {label} failed: the server closed the TLS connection before HELLO_ACK ({detail}; "
        "a client certificate missing or refused?)",
        TLS_HANDSHAKE_FAILED,
    )
