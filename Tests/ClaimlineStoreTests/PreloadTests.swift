import ClaimlineCore
import ClaimlinePreload
import ClaimlineStore
import ClaimlineStoreSQLite
import Foundation
import Testing

/// `claimline-store-bench preload` at a small size (issue 14): every row lands, call ids are
/// UUID-shaped, spread over the key space and ascending, and a writer opened on the result
/// continues the claim numbers after the preloaded ones.
@Suite("Preload")
struct PreloadTests {
    @Test("Call ids are UUID-shaped, unique, ascending and spread over the whole key space")
    func sortedCallIDs() {
        let ids = PreloadRows.callIDs(sessions: 1000, seed: 7)
        #expect(ids.count == 1000)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        for id in ids {
            let bytes = Array(id.utf8)
            #expect(bytes.count == 36)
            #expect([8, 13, 18, 23].allSatisfy { bytes[$0] == UInt8(ascii: "-") })
            #expect(bytes[14] == UInt8(ascii: "4"))
            #expect("89ab".utf8.contains(bytes[19]))
            #expect(bytes.enumerated().allSatisfy { [8, 13, 18, 23].contains($0.offset) || "0123456789abcdef".utf8.contains($0.element) })
        }
        #expect(ids.first!.hasPrefix("00"))
        #expect(ids.last!.hasPrefix("ff"))
        // The same seed gives the same ids; another seed others.
        #expect(PreloadRows.callIDs(sessions: 1000, seed: 7) == ids)
        #expect(PreloadRows.callIDs(sessions: 1000, seed: 8) != ids)
    }

    @Test("1,000 claims and 1,000 sessions: all readable, and the claim sequence continues after them")
    func smallPreload() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/claimline.db"
            var options = Preloader.Options(path: path, claims: 1000, sessions: 1000)
            options.batchSize = 300
            options.seed = 7
            let summary = try Preloader(options).run()
            #expect(summary.rows == 2000)
            #expect(summary.databaseBytes > 0)
            #expect(summary.lastSequences.values.reduce(0, +) == 1000)
            #expect(summary.line.contains("rows=2000"))

            let backend = SQLiteStoreBackend(path: path)
            let reader = try backend.openReader()
            defer { reader.close() }
            var claims: [Claim] = []
            var query = ClaimQuery(limit: 100)
            while true {
                let page = try reader.listClaims(query)
                claims += page.claims
                guard let next = page.next else { break }
                query.after = next
            }
            #expect(claims.count == 1000)
            #expect(Set(claims.map(\.claimNumber)).count == 1000)
            // Newest first, so the numbers come down year by year.
            #expect(claims.allSatisfy { $0.description.count >= 20 && !$0.department.isEmpty && $0.subscriber?.msisdn.hasPrefix("+79") == true })
            #expect(Set(claims.compactMap { $0.subscriber?.msisdn }).count > 100)
            #expect(claims.filter { $0.status == .acknowledged || $0.status == .pending || $0.status == .inProgress }.count > 500)

            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for id in PreloadRows.callIDs(sessions: 1000, seed: 7) {
                let session = try reader.contactSession(callID: id)
                #expect(session != nil)
                #expect((session?.expiresAtMs ?? 0) > now)
            }

            let writer = try backend.openWriter()
            defer { writer.close() }
            for (year, last) in summary.lastSequences {
                #expect(try writer.lastClaimSequence(year: year) == last)
                #expect(try writer.claim(number: PreloadRows.claimNumber(year: year, sequence: last)) != nil)
                #expect(try writer.claim(number: PreloadRows.claimNumber(year: year, sequence: last + 1)) == nil)
            }
            // What the server's WriterState does next: last + 1, which inserts cleanly.
            let year = summary.lastSequences.keys.max()!
            let next = try writer.lastClaimSequence(year: year) + 1
            var claim = claims[0]
            claim.claimNumber = PreloadRows.claimNumber(year: year, sequence: next)
            try writer.begin()
            try writer.insertClaim(claim)
            try writer.commit()
            #expect(try writer.lastClaimSequence(year: year) == summary.lastSequences[year]! + 1)
        }
    }

    @Test("Preload refuses a database that exists")
    func refusesExisting() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/claimline.db"
            try Data().write(to: URL(fileURLWithPath: path))
            #expect(throws: StoreError.self) { try Preloader(Preloader.Options(path: path, claims: 1, sessions: 1)).run() }
        }
    }
}
