/// Element types of safetensors files that gradti reads and writes.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f64 = "F64"
    case i64 = "I64"
    case i32 = "I32"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64, .f64: return 8
        }
    }

    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}

/// Conversions between float32 and the 16-bit formats, rounding to nearest even.
enum HalfPrecision {
    @inline(__always) static func float(fromBF16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    @inline(__always) static func bf16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    @inline(__always) static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    static func f16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if value.isNaN { return sign | 0x7E00 }
        let magnitude = abs(value)
        if magnitude >= 65520 { return sign | 0x7C00 }  // rounds to infinity
        if magnitude < 0x1p-14 {
            // Subnormal half: round magnitude / 2^-24 to nearest even.
            let scaled = magnitude * 0x1p24
            var q = scaled.rounded(.toNearestOrEven)
            if q > 1023 { q = 1024 }
            return sign | UInt16(q)
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        // Round the 23-bit mantissa to 10 bits, nearest even; a carry bumps the exponent.
        let rest = mantissa & 0x1FFF
        mantissa >>= 13
        if rest > 0x1000 || (rest == 0x1000 && mantissa & 1 == 1) { mantissa += 1 }
        return sign | UInt16(exponent << 10) &+ UInt16(mantissa)
    }
}
