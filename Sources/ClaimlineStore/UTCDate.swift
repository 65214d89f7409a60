/// UTC calendar arithmetic for claim numbers, whose sequence starts again each UTC year (no
/// Foundation on the hot path: its calendars cost more per claim than the claim's insert).
public enum UTCDate {
    /// The UTC year of a Unix time in milliseconds.
    public static func year(ofMs ms: Int64) -> Int {
        // Howard Hinnant's civil_from_days.
        let days = Int(ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        return yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Midnight UTC of 1 January of `year`, in Unix milliseconds.
    public static func startOfYearMs(_ year: Int) -> Int64 {
        let y = year - 1  // January counts as month 13 of the year before
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (13 - 3) + 2) / 5
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468) * 86_400_000
    }
}
