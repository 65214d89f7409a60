/// A user event the transport fires once a TLS handshake has verified the client's
/// certificate: ``ConnectionHandler`` keeps the subject and authenticates HELLO with it.
struct PeerCertificate: Sendable {
    var subject: CertificateSubject
}
