import Foundation

/// What gradti's unpickler makes of a pickle: data only. Nothing in a file can run: a class or function
/// named by the pickle (`GLOBAL`) is a name, and calling it (`REDUCE`, `NEWOBJ`) builds the few values
/// PyTorch checkpoints need (an ordered dict, a tensor, a parameter) and an opaque value for anything else
/// (an optimiser's state, Lightning's callbacks, argparse namespaces), which readers ignore.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list([PickleValue])
    /// In insertion order, as Python keeps them.
    case dict([(key: PickleValue, value: PickleValue)])
    /// A class or function, by module and name.
    case global(String, String)
    /// A storage of a PyTorch checkpoint (`BINPERSID`): its key in the archive, element type and length.
    case storage(key: String, type: String, count: Int)
    /// `torch._utils._rebuild_tensor_v2`'s arguments.
    case tensor(PickledTensor)
    /// Anything else built by a call: what was called.
    case object(String)

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    var tuple: [PickleValue]? {
        switch self {
        case .tuple(let items), .list(let items): return items
        default: return nil
        }
    }
}

/// While a pickle is read, its lists and dicts are shared by reference (the memo) and filled after they
/// are made; at the end they become values (`PickleValue`), a container met again inside itself (a cycle,
/// which Python allows) becoming an opaque value, so nothing is left holding itself.
final class PickleContainer {
    var items: [(key: PickleNode, value: PickleNode)] = []
    let isDict: Bool
    init(isDict: Bool) { self.isDict = isDict }
}

/// A value under construction: `PickleValue`, with its containers still shared.
indirect enum PickleNode {
    case value(PickleValue)
    case tuple([PickleNode])
    case container(PickleContainer)

    var plain: PickleValue? { if case .value(let v) = self { return v } else { return nil } }
}

public struct PickledTensor {
    public var storageKey: String
    public var storageType: String
    public var storageCount: Int
    public var offset: Int
    public var shape: [Int]
    public var strides: [Int]
}

public struct PickleError: Error, CustomStringConvertible {
    public let description: String
}

/// A pickle machine for protocols 2 to 4 (`torch.save` writes 2), with the opcodes those write for
/// dicts, lists, tuples, numbers, strings, bytes and object construction.
struct Unpickler {
    private let bytes: [UInt8]
    private var at = 0
    private var stack: [PickleNode] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleNode] = [:]
    private var containers: [PickleContainer] = []
    /// The most values a pickle may build or unfold: real checkpoints hold thousands; a hostile one must not
    /// run away.
    static let maxValues = 10_000_000

    init(_ data: Data) { bytes = [UInt8](data) }

    static func load(_ data: Data) throws -> PickleValue {
        var machine = Unpickler(data)
        defer { for container in machine.containers { container.items = [] } }  // breaks any cycle
        let root = try machine.run()
        var budget = maxValues
        return try machine.freeze(root, path: [], budget: &budget)
    }

    private func fail(_ what: String) -> PickleError { PickleError(description: "\(what) at byte \(at)") }

    /// `node` as a value: containers unfolded, one met again inside itself (a cycle) opaque.
    private func freeze(_ node: PickleNode, path: [ObjectIdentifier], budget: inout Int) throws -> PickleValue {
        budget -= 1
        guard budget >= 0 else {
            throw PickleError(description: "the pickle unfolds into more values than a checkpoint holds")
        }
        switch node {
        case .value(let v): return v
        case .tuple(let items): return .tuple(try items.map { try freeze($0, path: path, budget: &budget) })
        case .container(let c):
            let id = ObjectIdentifier(c)
            if path.contains(id) { return .object("a container inside itself") }
            let inner = path + [id]
            if c.isDict {
                return .dict(
                    try c.items.map {
                        (
                            try freeze($0.key, path: inner, budget: &budget),
                            try freeze($0.value, path: inner, budget: &budget)
                        )
                    })
            }
            return .list(try c.items.map { try freeze($0.value, path: inner, budget: &budget) })
        }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, at + count <= bytes.count else { throw fail("the pickle ends early") }
        defer { at += count }
        return bytes[at..<(at + count)]
    }

    private mutating func integer(_ size: Int, signed: Bool = false) throws -> Int {
        let raw = try take(size)
        var value: UInt64 = 0
        for (i, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        if signed && size < 8 && value & (1 << (8 * UInt64(size) - 1)) != 0 { value |= ~0 << (8 * UInt64(size)) }
        return Int(truncatingIfNeeded: value)
    }

    private mutating func line() throws -> String {
        guard let end = bytes[at...].firstIndex(of: 0x0A) else { throw fail("a GLOBAL without its newline") }
        defer { at = end + 1 }
        return String(decoding: bytes[at..<end], as: UTF8.self)
    }

    private mutating func pop() throws -> PickleNode {
        guard let top = stack.popLast() else { throw fail("the pickle pops an empty stack") }
        return top
    }

    private mutating func popMark() throws -> [PickleNode] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no MARK for this opcode") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func push(_ node: PickleNode) throws {
        guard stack.count < Self.maxValues else { throw fail("more values than a checkpoint holds") }
        stack.append(node)
    }

    private mutating func push(_ value: PickleValue) throws { try push(.value(value)) }

    private mutating func container(dict: Bool) throws -> PickleNode {
        guard containers.count < Self.maxValues else { throw fail("more containers than a checkpoint holds") }
        let made = PickleContainer(isDict: dict)
        containers.append(made)
        return .container(made)
    }

    /// The container on top of the stack, which must be a list (or a dict).
    private func target(dict: Bool, _ opcode: String) throws -> PickleContainer {
        guard case .container(let c) = stack.last, c.isDict == dict else {
            throw fail("\(opcode) on something not a \(dict ? "dict" : "list")")
        }
        guard c.items.count < Self.maxValues else { throw fail("a container larger than a checkpoint holds") }
        return c
    }

    private mutating func utf8(_ count: Int) throws -> String { String(decoding: try take(count), as: UTF8.self) }

    mutating func run() throws -> PickleNode {
        while at < bytes.count {
            let opcode = bytes[at]
            at += 1
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E: return try pop()  // STOP
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: try push(try container(dict: true))  // EMPTY_DICT
            case 0x5D: try push(try container(dict: false))  // EMPTY_LIST
            case 0x29: try push(PickleNode.tuple([]))  // EMPTY_TUPLE
            case 0x74: try push(.tuple(try popMark()))  // TUPLE
            case 0x85: try push(.tuple([try pop()]))  // TUPLE1
            case 0x86:  // TUPLE2
                let b = try pop()
                try push(.tuple([try pop(), b]))
            case 0x87:  // TUPLE3
                let c = try pop()
                let b = try pop()
                try push(.tuple([try pop(), b, c]))
            case 0x4E: try push(PickleValue.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(try integer(4, signed: true)))  // BININT
            case 0x4B: try push(.int(try integer(1)))  // BININT1
            case 0x4D: try push(.int(try integer(2)))  // BININT2
            case 0x8A:  // LONG1
                let size = try integer(1)
                guard size <= 8 else { throw fail("an integer of \(size) bytes") }
                try push(.int(size == 0 ? 0 : try integer(size, signed: true)))
            case 0x47:  // BINFLOAT, big-endian
                let raw = try take(8)
                try push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58: try push(.string(try utf8(try integer(4))))  // BINUNICODE
            case 0x8C: try push(.string(try utf8(try integer(1))))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(try integer(8))))  // BINUNICODE8
            case 0x54: try push(.string(try utf8(try integer(4))))  // BINSTRING
            case 0x55: try push(.string(try utf8(try integer(1))))  // SHORT_BINSTRING
            case 0x42: try push(.bytes(Data(try take(try integer(4)))))  // BINBYTES
            case 0x43: try push(.bytes(Data(try take(try integer(1)))))  // SHORT_BINBYTES
            case 0x71: memo[try integer(1)] = stack.last  // BINPUT
            case 0x72: memo[try integer(4)] = stack.last  // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last  // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let key = try integer(opcode == 0x68 ? 1 : 4)
                guard let value = memo[key] else { throw fail("BINGET of \(key), never stored") }
                try push(value)
            case 0x61:  // APPEND
                let item = try pop()
                try target(dict: false, "APPEND").items.append((.value(.none), item))
            case 0x65:  // APPENDS
                let items = try popMark()
                try target(dict: false, "APPENDS").items += items.map { (.value(.none), $0) }
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                try target(dict: true, "SETITEM").items.append((key, value))
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with a key and no value") }
                let dict = try target(dict: true, "SETITEMS")
                for i in stride(from: 0, to: items.count, by: 2) { dict.items.append((items[i], items[i + 1])) }
            case 0x63:  // GLOBAL
                let module = try line()
                try push(.global(module, try line()))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                guard case .string(let module)? = try pop().plain, case .string(let name)? = name.plain else {
                    throw fail("a malformed STACK_GLOBAL")
                }
                try push(.global(module, name))
            case 0x52, 0x81:  // REDUCE, NEWOBJ
                let arguments = try pop()
                let callable = try pop()
                try push(try call(callable, arguments))
            case 0x62: _ = try pop()  // BUILD: an object's state; data-only readers need none of it
            case 0x51:  // BINPERSID: a storage of the archive
                try push(try storage(try pop()))
            default:
                throw fail(String(format: "pickle opcode 0x%02X, which gradti's unpickler does not support", opcode))
            }
        }
        throw fail("the pickle ends without STOP")
    }

    /// What calling `callable` with `arguments` gives, without running anything.
    private mutating func call(_ callable: PickleNode, _ arguments: PickleNode) throws -> PickleNode {
        guard case .global(let module, let name)? = callable.plain else {
            return .value(.object("a call of a non-class"))
        }
        let args: [PickleNode] = if case .tuple(let items) = arguments { items } else { [] }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"): return try container(dict: true)
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            func ints(_ node: PickleNode) -> [Int]? {
                guard case .tuple(let items) = node else { return nil }
                let values = items.compactMap { $0.plain?.int }
                return values.count == items.count ? values : nil
            }
            guard args.count >= 4, case .storage(let key, let type, let count)? = args[0].plain,
                let offset = args[1].plain?.int, let shape = ints(args[2]), let strides = ints(args[3]),
                shape.count == strides.count, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }),
                offset >= 0
            else { throw fail("a malformed tensor (_rebuild_tensor_v2's arguments)") }
            return .value(
                .tensor(
                    PickledTensor(
                        storageKey: key, storageType: type, storageCount: count, offset: offset, shape: shape,
                        strides: strides)))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            return args.first ?? .value(.none)
        default: return .value(.object("\(module).\(name)"))
        }
    }

    /// `('storage', storage type, key, location, count)`, as torch.save writes a storage's persistent id.
    private func storage(_ id: PickleNode) throws -> PickleNode {
        guard case .tuple(let parts) = id, parts.count >= 5, parts[0].plain?.string == "storage",
            case .global(_, let type)? = parts[1].plain, let key = parts[2].plain?.string,
            let count = parts[4].plain?.int, count >= 0
        else { throw fail("a persistent id that is not a storage of a PyTorch checkpoint") }
        return .value(.storage(key: key, type: type, count: count))
    }
}
