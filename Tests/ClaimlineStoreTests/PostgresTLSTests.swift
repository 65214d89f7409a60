import ClaimlineStore
import ClaimlineStorePostgres
import ClaimlineTestSupport
import Testing

/// TLS to PostgreSQL (issue 22): a TLS-only server with a throwaway CA takes the store with
/// `sslmode=verify-full` and the CA, and refuses, with a clear message, a connection without TLS
/// and one that trusts another CA.
@Suite("PostgreSQL: TLS to the database")
struct PostgresTLSTests {
    @Test func verifyFullWithTheCA() async throws {
        try await TestPostgres.withTLSCluster { cluster, certificates in
            let backend = try postgresBackend(cluster.url + "?sslmode=verify-full&sslrootcert=\(certificates)/ca.pem")
            let writer = try backend.openWriter()
            defer { writer.close() }
            try writer.upsertContactSession(Fixtures.session("tls"))
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.contactSession(callID: "tls") != nil)
            let settings = try #require(reader as? PostgresClaimStoreReader).sessionSettings(["ssl"])
            #expect(settings == ["on"])
        }
    }

    @Test func requireEncryptsWithoutChecking() async throws {
        try await TestPostgres.withTLSCluster { cluster, _ in
            let backend = try postgresBackend(cluster.url + "?sslmode=require")
            let reader = try backend.openReader()
            defer { reader.close() }
            try reader.probe()
        }
    }

    @Test func anotherCAIsRefused() async throws {
        try await TestPostgres.withTLSCluster { cluster, certificates in
            let backend = try postgresBackend(cluster.url + "?sslmode=verify-full&sslrootcert=\(certificates)/rogue-ca.pem&connect_timeout_ms=3000")
            let error = #expect(throws: StoreError.self) { _ = try backend.openWriter() }
            let message = error?.message ?? ""
            #expect(message.contains("localhost:"), "\(message)")
            #expect(message.lowercased().contains("certificate") || message.contains("TLS"), "\(message)")
        }
    }

    @Test func withoutTLSTheServerRefuses() async throws {
        try await TestPostgres.withTLSCluster { cluster, _ in
            let backend = try postgresBackend(cluster.url + "?connect_timeout_ms=3000")
            let error = #expect(throws: StoreError.self) { _ = try backend.openWriter() }
            let message = error?.message ?? ""
            // pg_hba has no line for a plain connection: PostgreSQL's own words, with the host.
            #expect(message.contains("localhost:"), "\(message)")
            #expect(message.contains("28000") || message.contains("no pg_hba.conf entry"), "\(message)")
        }
    }

    @Test func aMissingCAFileIsNamed() throws {
        let backend = try postgresBackend("postgres://claimline@localhost:1/claimline?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
        let error = #expect(throws: StoreError.self) { _ = try backend.openWriter() }
        #expect(error?.message.contains("/nonexistent/ca.pem") == true, "\(error?.message ?? "")")
    }
}
