// Shared by every harness (compiled into each one by Tests/fuzz/run.sh).
import Foundation

/// Stops the run when a promise of the code under test is broken: libFuzzer treats the abort as a
/// crash and saves the input. A thrown error is never a failure; a wrong answer or a trap is.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        fputs("fuzz property failed: \(message())\n", stderr)
        abort()
    }
}

/// libFuzzer calls this once before the first input: each harness's `setUp()` makes its long-lived
/// objects here, so their memory is not attributed to an input (LeakSanitizer checks per input).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    setUp()
    return 0
}

/// The checkout the harness was built from: models and fixtures are read from it.
let repositoryRoot: URL = {
    if let root = ProcessInfo.processInfo.environment["GRADTI_ROOT"], !root.isEmpty {
        return URL(fileURLWithPath: root)
    }
    // Tests/fuzz/harnesses/FuzzSupport.swift → the checkout.
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url
}()

/// One file per process (in /dev/shm when it exists) that each input is written to, for the
/// entry points that only read files (safetensors is memory-mapped).
final class ScratchFile {
    let url: URL
    private let fd: Int32

    init(_ name: String, extension ext: String) {
        var isDirectory: ObjCBool = false
        let folder =
            FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue
                && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        url = URL(fileURLWithPath: folder).appendingPathComponent("gradti-fuzz-\(name)-\(getpid()).\(ext)")
        fd = open(url.path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        require(fd >= 0, "cannot create \(url.path): \(String(cString: strerror(errno)))")
        ScratchFile.paths.append(url.path)
        if ScratchFile.paths.count == 1 {
            atexit { for path in ScratchFile.paths { unlink(path) } }
        }
    }

    nonisolated(unsafe) private static var paths: [String] = []

    /// Replaces the file's content with the input's bytes.
    func write(_ data: UnsafePointer<UInt8>, _ size: Int) -> URL {
        require(ftruncate(fd, 0) == 0, "ftruncate: \(String(cString: strerror(errno)))")
        var written = 0
        while written < size {
            let n = pwrite(fd, data + written, size - written, off_t(written))
            require(n > 0, "pwrite: \(String(cString: strerror(errno)))")
            written += n
        }
        return url
    }
}
