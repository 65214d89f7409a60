import ClaimlineCore

/// Whom a call was about, for the one log line of a refused or failed call: the contact's
/// call id and the subscriber's number, which the line shows masked (`+7*********67`).
struct CallSubject: Sendable {
    var callID: String = ""
    var msisdn: String = ""

    /// Log metadata: escaped and truncated call id, masked number; nothing when unknown.
    var metadata: [(String, String)] {
        var out: [(String, String)] = []
        if !self.callID.isEmpty { out.append(("call.id", LogSafe.escape(self.callID))) }
        if !self.msisdn.isEmpty { out.append(("subscriber.msisdn", LogSafe.escape(Validation.redactedMSISDN(self.msisdn)))) }
        return out
    }
}
