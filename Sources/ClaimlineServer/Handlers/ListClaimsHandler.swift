import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import NIOCore

/// ListClaims: claims newest first, filtered, in pages.
enum ListClaimsHandler: ReadMethodHandler {
    static let answerSize = AnswerSize.frame

    static let defaultPageSize = 50

    static func validate(_ request: ListClaimsRequest) -> [FieldViolation] { Validation.listClaims(request) }

    /// A page holds at most `page_size` claims and at most `maxAnswerBytes` encoded: where the
    /// bytes run out first, the page ends early and its token continues from its last claim.
    static func read(_ request: ListClaimsRequest, _ ctx: ReadContext) throws -> ListClaimsResponse {
        try ListClaimsResponse.decode(from: try self.answer(request, ctx))
    }

    /// The page, encoded: the encoding that measured it is the answer (no second encode).
    static func answer(_ request: ListClaimsRequest, _ ctx: ReadContext) throws -> [UInt8] {
        var after: ClaimCursor? = nil
        if !request.pageToken.isEmpty {
            guard let cursor = PageToken.decode(request.pageToken) else {
                throw RPCError.invalidArgument(field: "page_token", "not a token this server issued")
            }
            after = cursor
        }
        let page = try ctx.reader.listClaims(
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
        try response.encode(into: &buffer, arena: ctx.arena)
        // Too large: keep the first n claims, n shrinking in proportion to the overshoot.
        while buffer.readableBytes > ctx.maxAnswerBytes {
            let count = response.claims.count
            guard count > 1 else {
                throw RPCError(
                    .resourceExhausted, "one claim is larger than the frame size of \(ctx.maxAnswerBytes) bytes",
                    reason: Reason.responseTooLarge
                )
            }
            let fitting = max(1, min(count - 1, count * ctx.maxAnswerBytes / buffer.readableBytes))
            response.claims.removeLast(count - fitting)
            let last = response.claims[fitting - 1]
            response.nextPageToken = PageToken.encode(ClaimCursor(createdAtMs: last.createdAtMs, claimNumber: last.claimNumber))
            buffer.clear()
            try response.encode(into: &buffer, arena: ctx.arena)
        }
        return Array(buffer.readableBytesView)
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
