import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

/// A fixture's reference tensors, compared by relative L2 error as its README specifies.
struct Reference {
    let file: SafeTensorsFile

    init(_ url: URL) throws { file = try SafeTensorsFile(url) }

    func ids(_ key: String) throws -> IndexTensor { try file.indices(key) }
    func tensor(_ key: String) throws -> Tensor { try file.tensor(key) }

    /// ‖ours − reference‖ / ‖reference‖
    func error(_ ours: Tensor, _ key: String) throws -> Double {
        let reference = try file.doubles(key)
        let entry = try file.entry(key)
        guard entry.shape.reduce(1, *) == ours.count else { return .infinity }
        let difference = zip(ours.scalars, reference).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +)
            .squareRoot()
        return difference / max(reference.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-30)
    }
}
