import Foundation

extension LoadResult {
    /// The `--json` file: this result with its histograms, readable back by `merge`.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public static func load(path: String) throws -> LoadResult {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try JSONDecoder().decode(LoadResult.self, from: data)
        } catch {
            throw LoadConfigurationError("\(path): not a claimline-load result: \(error)")
        }
    }
}
