import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import NIOCore

/// The read methods: straight to the store's committed state through a reader.
enum ReadHandlers {
    static let defaultPageSize = 50

    static func getClaim(_ request: GetClaimRequest, _ slot: ReaderPool.Slot) throws -> CallResult {
        guard !request.claimNumber.isEmpty else {
            throw RPCError.invalidArgument(field: "claim_number", "required")
        }
        guard let claim = try slot.reader.claim(number: request.claimNumber) else {
            throw RPCError(.notFound, "no claim \(request.claimNumber)", reason: "CLAIM_NOT_FOUND")
        }
        return try encode(GetClaimResponse(claim: claim), slot)
    }

    /// A page holds at most `page_size` claims and at most `maxBytes` encoded: where the bytes
    /// run out first, the page ends early and its token continues from the last claim it holds.
    static func listClaims(_ request: ListClaimsRequest, _ slot: ReaderPool.Slot, maxBytes: Int) throws -> CallResult {
        let violations = Validation.listClaims(request)
        guard violations.isEmpty else { throw RPCError.invalidArgument(violations) }
        var after: ClaimCursor? = nil
        if !request.pageToken.isEmpty {
            guard let cursor = PageToken.decode(request.pageToken) else {
                throw RPCError.invalidArgument(field: "page_token", "not a token this server issued")
            }
            after = cursor
        }
        let page = try slot.reader.listClaims(
            ClaimQuery(
                msisdn: request.msisdn,
                status: request.status,
                createdFromMs: request.createdFromMs,
                createdToMs: request.createdToMs,
                limit: request.pageSize == 0 ? defaultPageSize : Int(request.pageSize),
                after: after,
                group: request.category?.group ?? .unspecified,
                category: request.category?.category ?? .unspecified,
                department: request.department
            )
        )
        var response = ListClaimsResponse(claims: page.claims, nextPageToken: page.next.map(PageToken.encode) ?? "")
        var buffer = ByteBuffer()
        try response.encode(into: &buffer, arena: slot.arena)
        // Too large: keep the first n claims, n shrinking in proportion to the overshoot.
        while buffer.readableBytes > maxBytes {
            let count = response.claims.count
            guard count > 1 else {
                throw RPCError(
                    .resourceExhausted, "one claim is larger than the frame size of \(maxBytes) bytes", reason: "RESPONSE_TOO_LARGE"
                )
            }
            let fitting = max(1, min(count - 1, count * maxBytes / buffer.readableBytes))
            response.claims.removeLast(count - fitting)
            let last = response.claims[fitting - 1]
            response.nextPageToken = PageToken.encode(ClaimCursor(createdAtMs: last.createdAtMs, claimNumber: last.claimNumber))
            buffer.clear()
            try response.encode(into: &buffer, arena: slot.arena)
        }
        return .response(Array(buffer.readableBytesView))
    }

    /// A contact as committed; one past its expiry counts as gone, as it does for the writer.
    static func getContact(_ request: GetContactRequest, _ slot: ReaderPool.Slot) throws -> CallResult {
        guard let session = try slot.reader.contactSession(callID: request.callId), session.expiresAtMs > WallClock.nowMs else {
            throw RPCError(.notFound, "no contact with call id \(request.callId)", reason: "CONTACT_NOT_FOUND")
        }
        return try encode(GetContactResponse(contact: session.wire, draft: session.claimDraft(agentID: session.secondLineAgent)), slot)
    }

    static func listIncidents(_ request: ListIncidentsRequest, _ slot: ReaderPool.Slot) throws -> CallResult {
        try encode(ListIncidentsResponse(incidents: try slot.reader.incidents(includeWithdrawn: request.includeWithdrawn)), slot)
    }

    static func getSecondLineMode(_ slot: ReaderPool.Slot) throws -> CallResult {
        try encode(try slot.reader.secondLineMode() ?? SecondLineModeResponse(mode: .normal), slot)
    }

    static func getStats(_ request: GetStatsRequest, _ slot: ReaderPool.Slot) throws -> CallResult {
        if request.toMs != 0 && request.toMs <= request.fromMs {
            throw RPCError.invalidArgument(field: "to_ms", "must be after from_ms")
        }
        return try encode(try slot.reader.stats(fromMs: request.fromMs, toMs: request.toMs), slot)
    }

    private static func encode<M: ProtobufCMessage>(_ message: M, _ slot: ReaderPool.Slot) throws -> CallResult {
        var buffer = ByteBuffer()
        try message.encode(into: &buffer, arena: slot.arena)
        return .response(Array(buffer.readableBytesView))
    }
}

/// ListClaims' page token: where the previous page ended, as `<created ms>:<claim number>`.
/// Opaque to clients; checked on the way back in.
enum PageToken {
    static func encode(_ cursor: ClaimCursor) -> String {
        "\(cursor.createdAtMs):\(cursor.claimNumber)"
    }

    static func decode(_ token: String) -> ClaimCursor? {
        guard let colon = token.firstIndex(of: ":"), let ms = Int64(token[..<colon]) else { return nil }
        let number = String(token[token.index(after: colon)...])
        guard !number.isEmpty, number.count <= Validation.maxIdentifier else { return nil }
        return ClaimCursor(createdAtMs: ms, claimNumber: number)
    }
}
