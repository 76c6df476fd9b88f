// The pickle of PyTorch checkpoints (Numerics.PyTorchCheckpoint.unpickle): gradti's own unpickler, which
// builds data only (dicts, lists, tuples, numbers, strings, storages, tensors, opaque objects) and runs
// nothing.
//
// Input: a pickle's bytes (a checkpoint's data.pkl).
//
// Properties: a pickle either loads or is refused with an error; the tensors it describes have
// non-negative shapes and strides (checked when built); nothing traps, loops without end or grows
// without bound (a value limit holds the stack).
import Foundation
import Numerics

func setUp() {}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let value = try? PyTorchCheckpoint.unpickle(Data(bytes: data, count: size)) else { return 0 }
    func check(_ value: PickleValue, depth: Int) {
        guard depth < 64 else { return }
        switch value {
        case .tensor(let t):
            require(t.shape.count == t.strides.count, "a tensor of shape \(t.shape) and strides \(t.strides)")
            require(
                t.shape.allSatisfy { $0 >= 0 } && t.strides.allSatisfy { $0 >= 0 } && t.offset >= 0, "negative sizes")
        case .tuple(let items): for item in items.prefix(100) { check(item, depth: depth + 1) }
        case .list(let items): for item in items.prefix(100) { check(item, depth: depth + 1) }
        case .dict(let items): for (_, item) in items.prefix(100) { check(item, depth: depth + 1) }
        default: return
        }
    }
    check(value, depth: 0)
    return 0
}
