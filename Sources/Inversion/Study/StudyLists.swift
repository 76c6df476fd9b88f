import Foundation

extension StudyPlan {
    /// The lists a study is asked for, read the same way by the kernel's `study` and by
    /// `gradti study`: subjects (none, or `all`, for every subject of the benchmark; each must be
    /// one of `available`), comma-separated strategies (short names valid for `trainSteps`) and
    /// comma-separated seeds.
    public static func lists(
        subjects: [String], strategies: String, seeds: String, available: [String], trainSteps: Int
    ) throws -> (subjects: [String], strategies: [String], seeds: [UInt64]) {
        let chosen = subjects.isEmpty || subjects == ["all"] ? available : subjects
        if let unknown = chosen.first(where: { !available.contains($0) }) {
            throw InversionError(
                "the benchmark has no subject \(unknown); it has \(available.prefix(8).joined(separator: ", "))"
                    + (available.count > 8 ? ", …" : ""))
        }
        let names = strategies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names { _ = try TimestepStrategy(shortName: name, trainSteps: trainSteps) }
        let seedList = try seeds.split(separator: ",").map { text in
            guard let seed = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                throw InversionError("seeds=\(seeds) is not a comma-separated list of whole numbers")
            }
            return seed
        }
        guard !seedList.isEmpty else { throw InversionError("seeds=\(seeds) names no seed") }
        return (chosen, names, seedList)
    }
}
