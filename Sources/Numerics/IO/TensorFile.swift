import Foundation

/// A file of named tensors: safetensors, or a PyTorch checkpoint (by its bytes, not its name).
public enum TensorFile {
    case safetensors(SafeTensorsFile)
    case pytorch(PyTorchCheckpoint)

    public init(_ url: URL) throws {
        // A zip archive (torch.save) or its legacy format (refused with a reason); else safetensors.
        if PyTorchCheckpoint.isPyTorch(Data(try FileAccess.firstBytes(url, count: 14))) {
            self = .pytorch(try PyTorchCheckpoint(url))
        } else {
            self = .safetensors(try SafeTensorsFile(url))
        }
    }

    public var url: URL {
        switch self {
        case .safetensors(let f): f.url
        case .pytorch(let f): f.url
        }
    }

    /// Whether tensor `name` holds floats (weights), and its element type's name for errors.
    public func elementType(_ name: String) throws -> (isFloatingPoint: Bool, name: String) {
        switch self {
        case .safetensors(let f):
            let dtype = try f.entry(name).dtype
            return (dtype.isFloatingPoint, dtype.rawValue)
        case .pytorch(let f):
            let type = try f.entry(name).type
            return (type.isFloatingPoint, type.rawValue)
        }
    }

    public var names: [String] {
        switch self {
        case .safetensors(let f): f.names
        case .pytorch(let f): f.names
        }
    }

    public func shape(_ name: String) throws -> [Int] {
        switch self {
        case .safetensors(let f): try f.entry(name).shape
        case .pytorch(let f): try f.entry(name).shape
        }
    }

    public func tensor(_ name: String) throws -> Tensor {
        switch self {
        case .safetensors(let f): try f.tensor(name)
        case .pytorch(let f): try f.tensor(name)
        }
    }
}
