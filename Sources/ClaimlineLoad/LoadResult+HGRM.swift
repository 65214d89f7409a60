import Histogram

extension LoadResult {
    /// HdrHistogram's percentile-distribution text (as `outputPercentileDistribution` prints
    /// it, values in milliseconds), the format HdrHistogram's plotter and most tooling read.
    /// `nil` method: all calls of all steps together.
    public func hgrm(method: String? = nil) -> String {
        let stats = method.flatMap { name in self.total.methods.first { $0.name == name } } ?? self.total.allCalls
        var text = ""
        let histogram = stats?.histogram ?? LatencyHistogram.make()
        histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000)
        return text
    }

    /// The files `--hgrm FILE` writes: FILE for all calls and, when the run made more than one
    /// kind of call, `FILE-without-.hgrm.<Method>.hgrm` for each.
    public func hgrmFiles(path: String) -> [(path: String, text: String)] {
        var files = [(path, self.hgrm())]
        let names = self.total.methods.map(\.name)
        if names.count > 1 {
            let base = path.hasSuffix(".hgrm") ? String(path.dropLast(5)) : path
            for name in names { files.append(("\(base).\(name).hgrm", self.hgrm(method: name))) }
        }
        return files
    }
}
