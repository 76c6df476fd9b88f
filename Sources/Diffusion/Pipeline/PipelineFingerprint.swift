import Foundation
import Numerics

extension StableDiffusionPipeline {
    /// What gradti keeps in a model folder *about* the model, not of it (its profile from generic
    /// concepts, and those concepts' images): left out of the fingerprint, so adding them leaves results
    /// made with the model valid.
    public static let annotations: Set<String> = [genericConceptsFolder, modelProfileFile]
    public static let genericConceptsFolder = "generic-concepts"
    public static let modelProfileFile = "gradti-model-profile.json"

    /// Names the model by content, not by place: the folder's name and a 64-bit hash of its configs,
    /// tokenizer and weight files. Results kept with it (a study's) stay valid when the checkout moves,
    /// and are refused when the weights change. Not cryptographic: it tells models apart, nothing more.
    /// `shouldStop` is asked between chunks of the files and may throw to stop (gigabytes take seconds).
    public func fingerprint(shouldStop: () throws -> Void = {}) throws -> String {
        // Resolved first: model folders are often links, or folders of links (a Hugging Face cache).
        let root = folder.resolvingSymlinksInPath()
        var files: [(relative: String, url: URL)] = []
        func walk(_ directory: URL, _ prefix: String) throws {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
                throw ModelError(
                    "\(directory.path): cannot list it to fingerprint the model: \(error.localizedDescription)")
            }
            for name in names.sorted() where !(prefix.isEmpty && Self.annotations.contains(name)) {
                let url = directory.appendingPathComponent(name).resolvingSymlinksInPath()
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    try walk(url, prefix + name + "/")
                } else if ["json", "safetensors", "txt"].contains(URL(fileURLWithPath: name).pathExtension) {
                    // By the entry's own name: a link's target may have none (a cache's blobs).
                    files.append((prefix + name, url))
                }
            }
        }
        try walk(root, "")
        guard files.contains(where: { $0.relative.hasSuffix(".safetensors") }) else {
            throw ModelError("\(folder.path): no .safetensors weights found to fingerprint the model")
        }
        var hash = FNV64()
        for file in files {
            let data: Data
            guard FileAccess.isRegularFile(file.url) else {
                throw ModelError(
                    "\(folder.path)/\(file.relative) is not a regular file (a FIFO or a device?); a model folder "
                        + "holds files and folders only"
                )
            }
            do { data = try Data(contentsOf: file.url, options: .alwaysMapped) } catch {
                throw ModelError(
                    "\(folder.path)/\(file.relative): cannot read it to fingerprint the model: "
                        + "\(error.localizedDescription)"
                )
            }
            hash.add(Data(file.relative.utf8))
            try shouldStop()
            hash.add(data)
        }
        return "\(folder.lastPathComponent) \(String(hash.value, radix: 16))"
    }
}
