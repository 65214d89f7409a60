import ClaimlineCore

/// Claim statuses by weight, picked with one uniform draw (cumulative weights, a short scan).
struct StatusTable: Sendable {
    private let entries: [(status: ClaimStatus, upTo: Double)]

    init(_ weights: [(ClaimStatus, Double)]) {
        let total = weights.reduce(0) { $0 + $1.1 }
        var sum = 0.0
        self.entries = weights.map { status, weight in
            sum += weight / total
            return (status, sum)
        }
    }

    func pick(_ u: Double) -> ClaimStatus {
        self.entries.first { u < $0.upTo }?.status ?? self.entries.last?.status ?? .acknowledged
    }
}
