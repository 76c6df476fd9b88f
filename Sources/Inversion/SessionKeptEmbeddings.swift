import Foundation
import Numerics

/// The embeddings kept beside the concept (loaded files, `compare`'s runs) in a session file (format 6):
/// tensors `kept.0`, `kept.1`, … [vectors, width] and metadata `kept`, their names in order (JSON).
extension InversionSession {
    func keptEmbeddingEntries() throws -> (tensors: [(String, SafeTensors.Value)], names: String) {
        let names = String(decoding: try JSONEncoder().encode(keptEmbeddings.map(\.name)), as: UTF8.self)
        return (keptEmbeddings.enumerated().map { ("kept.\($0.offset)", .float($0.element.vectors, .f32)) }, names)
    }
}

extension SessionFileContents {
    static let maxKept = 1000

    static func keptEmbeddings(_ file: SafeTensorsFile, width: Int) throws -> [(name: String, vectors: Tensor)] {
        guard let json = file.metadata["kept"] else { return [] }
        guard let names = try? JSONDecoder().decode([String].self, from: Data(json.utf8)), names.count <= maxKept,
            Set(names).count == names.count,
            names.allSatisfy({
                !$0.isEmpty && $0.count <= 200 && !$0.contains(where: { $0.isWhitespace || "<>".contains($0) })
            })
        else { throw InversionError("metadata kept is not a list of distinct embedding names") }
        return try names.enumerated().map { index, name in
            let key = "kept.\(index)"
            let shape = try file.entry(key).shape
            guard shape.count == 2, (1...EmbeddingFile.maxVectors).contains(shape[0]), shape[1] == width else {
                throw InversionError("\(key) has shape \(shape), not [vectors, \(width)]")
            }
            let vectors = try file.tensor(key).copy()
            guard vectors.nonFiniteCount == 0 else { throw InversionError("\(key) holds NaN or infinite values") }
            return (name, vectors)
        }
    }
}
