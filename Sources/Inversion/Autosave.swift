import Foundation

/// Saves an unattended run as it goes: every `every` steps, the session (to resume from) and the
/// embedding (to use), each written atomically into `folder` under the step's number; only the last
/// `keep` of each are kept, so a stopped or crashed run loses at most `every` steps.
public struct Autosave: Sendable, Equatable {
    public var every: Int
    public var keep: Int
    public var folder: URL

    public init(every: Int, keep: Int, folder: URL) {
        (self.every, self.keep, self.folder) = (every, keep, folder)
    }

    /// The files of a save at `step`: the session and the embedding.
    public func files(concept: String, step: Int) -> (session: URL, embedding: URL) {
        let stem = "\(concept)-step\(String(format: "%07d", step))"
        return (
            folder.appendingPathComponent(stem + ".session.safetensors"),
            folder.appendingPathComponent(stem + ".safetensors")
        )
    }

    /// After a step: saves when the session's step count is a multiple of `every`, then removes this
    /// concept's saves beyond the last `keep`. Returns the session file written, if any.
    @discardableResult
    public func afterStep(_ session: InversionSession) throws -> URL? {
        guard every > 0, session.stepCount % every == 0, let concept = session.concept else { return nil }
        let (sessionFile, embeddingFile) = files(concept: concept.name, step: session.stepCount)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try session.saveSession(to: sessionFile)
            try session.saveEmbedding(to: embeddingFile)
        } catch {
            throw InversionError("autosave at step \(session.stepCount) into \(folder.path) failed: \(error)")
        }
        try prune(concept: concept.name)
        return sessionFile
    }

    /// Removes all but the last `keep` saves of `concept` (by step number; other files are left alone).
    func prune(concept: String) throws {
        let prefix = "\(concept)-step"
        let suffix = ".session.safetensors"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let steps = names.compactMap { name -> Int? in
            guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
            return Int(name.dropFirst(prefix.count).dropLast(suffix.count))
        }.sorted()
        for step in steps.dropLast(max(keep, 1)) {
            let (old, embedding) = files(concept: concept, step: step)
            try? FileManager.default.removeItem(at: old)
            try? FileManager.default.removeItem(at: embedding)
        }
    }
}
