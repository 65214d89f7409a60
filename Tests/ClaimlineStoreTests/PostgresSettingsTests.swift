import ClaimlineStore
import ClaimlineStorePostgres
import Testing

/// `--store` URLs in libpq's form: several hosts, options, percent-escapes, and errors that say
/// what is wrong.
@Suite("PostgreSQL: the --store URL")
struct PostgresSettingsTests {
    @Test func oneHostWithDefaults() throws {
        let settings = try PostgresStoreSettings(url: "postgres://claimline@db.example:5433/claims")
        #expect(settings.endpoints == [.init(host: "db.example", port: 5433)])
        #expect(settings.user == "claimline")
        #expect(settings.password == nil)
        #expect(settings.database == "claims")
        #expect(settings.targetSessionAttributes == .any)
        #expect(settings.sslMode == .disable)
        #expect(settings.connectTimeoutMs == 2_000 && settings.lockWaitMs == 50 && settings.idleInTransactionTimeoutMs == 1_000)
    }

    @Test func severalHostsAndTheirOptions() throws {
        let settings = try PostgresStoreSettings(
            url: "postgresql://app@h1:5432,h2,[::1]:5434/claimline?target_session_attrs=read-write&connect_timeout_ms=500"
                + "&sslmode=verify-full&sslrootcert=/etc/claimline/ca%20file.pem&lock_wait_ms=20")
        #expect(settings.endpoints == [.init(host: "h1", port: 5432), .init(host: "h2", port: 5432), .init(host: "::1", port: 5434)])
        #expect(settings.targetSessionAttributes == .readWrite)
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.sslRootCert == "/etc/claimline/ca file.pem")
        #expect(settings.connectTimeoutMs == 500 && settings.lockWaitMs == 20)
        #expect(settings.redacted == "postgres://app@h1:5432,h2:5432,[::1]:5434/claimline?target_session_attrs=read-write")
    }

    @Test func percentEscapesInCredentialsAndDatabase() throws {
        let settings = try PostgresStoreSettings(url: "postgres://us%40er:p%2Fa%3Fss%3A%25@127.0.0.1/cl%C3%A4ims")
        #expect(settings.user == "us@er")
        #expect(settings.password == "p/a?ss:%")
        #expect(settings.database == "cläims")
        #expect(!settings.redacted.contains("p/a"))
    }

    @Test(arguments: [
        ("mysql://x@h/db", "not a postgres:// URL"),
        ("postgres://x@h", "no database"),
        ("postgres://x@h:0/db", "bad host:port"),
        ("postgres://x@h1,,h2/db", "bad host:port"),
        ("postgres://x@h/db?lock_wait_ms=-1", "positive whole number"),
        ("postgres://x@h/db?target_session_attrs=primary", "target_session_attrs: any or read-write"),
        ("postgres://x@h/db?sslmode=prefer", "sslmode: disable, require or verify-full"),
        ("postgres://x@h/db?sslrootcert=/ca.pem", "sslrootcert goes with sslmode=verify-full"),
        ("postgres://x:%zz@h/db", "bad %-escape in the password"),
        ("postgres://x@h/db?nope=1", "unknown option nope"),
    ])
    func refusals(url: String, says: String) {
        let error = #expect(throws: StoreError.self) { try PostgresStoreSettings(url: url) }
        #expect(error?.message.contains(says) == true, "\(error?.message ?? "no error") should say \(says)")
    }
}
