import Foundation
import Testing

@testable import Numerics

/// Reading only regular files, replacing only regular files, and errors in words.
@Suite struct FileAccessTests {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("pipe.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // Before: open(2) without O_NONBLOCK waited forever for a writer.
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(fifo) }
        #expect(error?.description.contains("FIFO") == true)
        #expect(throws: FileError.self) { try FileAccess.read(fifo) }
    }

    @Test func foldersAndDevicesAreRefusedByKind() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(
            (#expect(throws: FileError.self) { try FileAccess.read(dir) })?.description.contains("a folder") == true)
        #expect(
            (#expect(throws: FileError.self) { try FileAccess.read(URL(fileURLWithPath: "/dev/zero")) })?
                .description.contains("character device") == true)
        let missing = #expect(throws: FileError.self) { try FileAccess.read(dir.appendingPathComponent("nothing.png")) }
        #expect(missing?.description.contains("no such file") == true)
        #expect(missing?.description.contains("nothing.png") == true)
    }

    @Test func symbolicLinksToFilesAreFollowed() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blob = dir.appendingPathComponent("blob")
        let link = dir.appendingPathComponent("model.safetensors")
        try FileAccess.writeAtomically(Data("hello".utf8), to: blob)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: blob)
        #expect(try FileAccess.read(link) == Data("hello".utf8))
    }

    @Test func onlyRegularFilesAreReplaced() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Before: the write-then-rename replaced /dev/full itself when run as root.
        let device = #expect(throws: FileError.self) {
            try FileAccess.writeAtomically(Data([1]), to: URL(fileURLWithPath: "/dev/full"))
        }
        #expect(device?.description.contains("character device") == true)
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        let fifo = dir.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: FileError.self) { try FileAccess.writeAtomically(Data([1]), to: fifo) }
        for target in [dir, dir.appendingPathComponent("."), URL(fileURLWithPath: dir.path + "/")] {
            let error = #expect(throws: FileError.self) { try FileAccess.writeAtomically(Data([1]), to: target) }
            #expect(error?.description.contains("folder") == true)
        }
        let inFile = #expect(throws: FileError.self) {
            try FileAccess.writeAtomically(Data([1]), to: dir.appendingPathComponent("pipe/x.png"))
        }
        #expect(inFile?.description.contains("not a folder") == true)
        // A regular file is replaced whole, and no temporary is left beside it.
        let file = dir.appendingPathComponent("a.bin")
        try FileAccess.writeAtomically(Data([1, 2]), to: file)
        try FileAccess.writeAtomically(Data([3]), to: file)
        #expect(try FileAccess.read(file) == Data([3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.bin", "pipe"])
    }

    @Test func temporariesOfDeadWritersAreRemovedAndOthersKept() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("session.safetensors")
        try FileAccess.writeAtomically(Data([1]), to: target)
        // A process that has exited stands for one killed with -9 in the middle of a save.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        let host = String(
            String(cString: buffer).unicodeScalars.map {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "_"
            })
        let orphan = dir.appendingPathComponent(
            ".session.safetensors.\(host)-\(finished.processIdentifier)-1.gradti-tmp")
        let live = dir.appendingPathComponent(".session.safetensors.\(host)-\(getpid())-999999.gradti-tmp")
        let otherHost = dir.appendingPathComponent(
            ".session.safetensors.elsewhere-\(finished.processIdentifier)-1.gradti-tmp")
        for url in [orphan, live, otherHost] {
            #expect(FileManager.default.createFile(atPath: url.path, contents: Data([9])))
        }
        try FileAccess.writeAtomically(Data([2]), to: target)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(!left.contains(orphan.lastPathComponent))
        #expect(left.contains(live.lastPathComponent))
        #expect(left.contains(otherHost.lastPathComponent))
        #expect(try FileAccess.read(target) == Data([2]))
    }

    @Test func aKilledWriterNotYetReapedCountsAsGone() throws {
        // kill -9 leaves a zombie until the parent (Jupyter) waits for it: its temporaries are orphans.
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { for argument in argv { free(argument) } }
        #expect(posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ) == 0)
        #expect(FileAccess.isRunning(pid))
        kill(pid, SIGKILL)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(!FileAccess.isRunning(pid))
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(!FileAccess.isRunning(pid))
        #expect(FileAccess.isRunning(getpid()))
    }

    /// Found by the safetensors fuzz harness: 2^62 float32 elements overflowed the byte count to 0.
    @Test func shapesTooLargeToExistAreRefused() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (shape, bytes) in [("4611686018427387904", 0), ("4611686018427387904", 4), ("3037000500, 3037000500", 0)] {
            var header = Data(#"{"big":{"data_offsets":[0,\#(bytes)],"dtype":"F32","shape":[\#(shape)]}}"#.utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            var file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) }
            file.append(header)
            file.append(Data(count: bytes))
            let url = dir.appendingPathComponent("big.safetensors")
            try file.write(to: url)
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url) }
            #expect(error?.description.contains("too large") == true || error?.description.contains("needs") == true)
        }
    }

    @Test func nonFiniteValuesAreCounted() {
        var values = [Float](repeating: 1, count: 3_000_000)
        #expect(Tensor(values, shape: [values.count]).nonFiniteCount == 0)
        values[17] = .nan
        values[2_999_999] = -.infinity
        values[1_500_000] = .greatestFiniteMagnitude
        #expect(Tensor(values, shape: [values.count]).nonFiniteCount == 2)
    }
}
