/// What a claim takes from its contact (DOMAIN.md, "Claims" and "Category between escalate
/// and file"): the contact knows the subscriber, the group, the place and the retention
/// outcome; the claim repeats them. A value the request leaves out is taken from the contact;
/// a value that conflicts with it is refused naming the field, so a claim can never say
/// something different from the call it came from.
extension ContactSession {
    /// The fields of a claim filed for a contact, reconciled with it.
    public struct ClaimFields: Hashable, Sendable {
        public var subscriber: Subscriber
        public var category: CategoryRef
        public var placeID: String
        public var failureReason: RetentionFailureReason
    }

    /// `existing` is nil for a claim filed without escalating (a quality-of-service claim):
    /// no retention was attempted, so it carries no failure reason.
    public static func claimFields(for request: FileComplaintRequest, existing: ContactSession?) throws(RPCError) -> ClaimFields {
        var subscriber = request.subscriber ?? Subscriber()
        let category = request.category ?? CategoryRef()
        guard let contact = existing else {
            if request.failureReason != .unspecified {
                throw RPCError.invalidArgument(
                    field: "failure_reason", "no retention was attempted for this contact: leave it unset"
                )
            }
            return ClaimFields(subscriber: subscriber, category: category, placeID: request.placeId, failureReason: .unspecified)
        }
        var violations: [FieldViolation] = []
        func conflict(_ field: String, _ recorded: String) {
            violations.append(FieldViolation(field: field, description: "the contact recorded \(recorded); leave it unset or send the same"))
        }
        if subscriber.msisdn != contact.subscriber.msisdn {
            violations.append(FieldViolation(field: "subscriber.msisdn", description: "not the subscriber of this contact"))
        }
        if subscriber.valueTier == .unspecified {
            subscriber.valueTier = contact.subscriber.valueTier
        } else if subscriber.valueTier != contact.subscriber.valueTier {
            conflict("subscriber.value_tier", contact.subscriber.valueTier.protoName)
        }
        if subscriber.region.isEmpty {
            subscriber.region = contact.subscriber.region
        } else if subscriber.region != contact.subscriber.region {
            conflict("subscriber.region", contact.subscriber.region.isEmpty ? "no region" : "region \(contact.subscriber.region)")
        }
        if subscriber.accountId.isEmpty {
            subscriber.accountId = contact.subscriber.accountId
        } else if subscriber.accountId != contact.subscriber.accountId {
            conflict("subscriber.account_id", contact.subscriber.accountId.isEmpty ? "no account id" : "account \(contact.subscriber.accountId)")
        }
        // The group is what escalate decided on; the category may be refined within it.
        if category.group != contact.category.group {
            violations.append(
                FieldViolation(
                    field: "category.group",
                    description: "the contact was escalated as \(Taxonomy.groupKey(contact.category.group)); a claim keeps its group"
                )
            )
        }
        var placeID = request.placeId
        if placeID.isEmpty {
            placeID = contact.placeID
        } else if !contact.placeID.isEmpty, placeID != contact.placeID {
            conflict("place_id", "place \(contact.placeID)")
        }
        var failureReason = request.failureReason
        if contact.failureReason == .unspecified {
            if failureReason != .unspecified {
                violations.append(
                    FieldViolation(field: "failure_reason", description: "no retention failure was recorded for this contact: leave it unset")
                )
            }
        } else if failureReason == .unspecified {
            failureReason = contact.failureReason
        } else if failureReason != contact.failureReason {
            conflict("failure_reason", contact.failureReason.protoName)
        }
        if !violations.isEmpty { throw RPCError.invalidArgument(violations) }
        return ClaimFields(subscriber: subscriber, category: category, placeID: placeID, failureReason: failureReason)
    }
}
