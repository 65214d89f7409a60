import ClaimlineCore
import ClaimlineStore
import Testing

@testable import ClaimlineStoreSQLite

@Suite("Store helpers")
struct StoreHelpersTests {
    @Test
    func claimNumbersParse() {
        #expect(StoreNumbering.claimNumber("2026-000123")! == (2026, 123))
        #expect(StoreNumbering.claimNumber("2026-1000000")! == (2026, 1_000_000))
        for bad in ["", "2026", "2026-", "-1", "2026-12a", "2026--1", "２０２６-1", "2026-99999999999999999999"] {
            #expect(StoreNumbering.claimNumber(bad) == nil, "\(bad)")
        }
        #expect(StoreNumbering.incidentSequence("INC-000042") == 42)
        #expect(StoreNumbering.incidentSequence("INC-") == nil)
        #expect(StoreNumbering.incidentSequence("inc-1") == nil)
    }

    @Test
    func timeRanges() {
        let unbounded = StoreTimeRange(fromMs: 0, toMs: 0)
        #expect(unbounded.contains(.min) && unbounded.contains(.max))
        let range = StoreTimeRange(fromMs: 10, toMs: 20)
        #expect(range.contains(10) && range.contains(19) && !range.contains(20) && !range.contains(9))
        #expect(StoreTimeRange(fromMs: 5, toMs: .min).isEmpty)
        #expect(ClaimQuery(limit: 0).effectiveLimit == 1)
        #expect(ClaimQuery(limit: .max).effectiveLimit == ClaimQuery.maximumLimit)
    }

    @Test
    func incidentListsRoundTrip() {
        for regions in [[], [""], ["77"], ["77", "50"], ["a,b", "%", "%2C", ",", "Москва"]] {
            let encoded = IncidentListCoding.encodeRegions(regions)
            #expect(IncidentListCoding.decodeRegions(encoded) == regions, "\(regions)")
        }
        #expect(IncidentListCoding.encodeRegions(["77", "50"]) == "77,50")
        let categories = [
            CategoryRef(group: .billing, category: .balanceDesync), CategoryRef(group: .other),
            CategoryRef(group: .unrecognized(77), category: .unrecognized(-3)),
        ]
        #expect(IncidentListCoding.decodeCategories(IncidentListCoding.encodeCategories(categories)) == categories)
        #expect(IncidentListCoding.encodeCategories([]) == nil)
    }

    @Test
    func statsTallyNamesReasons() {
        #expect(StatsTally.reason(named: "RETENTION_FAILURE_REASON_LONG_REVIEW") == .longReview)
        #expect(StatsTally.reason(named: "17") == .unrecognized(17))
        #expect(StatsTally.reason(named: "garbage") == .unspecified)
    }
}
