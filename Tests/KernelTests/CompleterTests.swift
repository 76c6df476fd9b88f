import Foundation
import Testing

@testable import Kernel

@Suite struct CompleterTests {
    let interpreter = GradtiInterpreter()

    func complete(_ code: String) -> (matches: [String], start: Int, end: Int) {
        let c = interpreter.complete(code: code, cursor: code.unicodeScalars.count)
        return (c.matches, c.cursorStart, c.cursorEnd)
    }

    @Test func commandNamesAtTheStartOfALine() {
        #expect(complete("pri").matches == ["print"])
        #expect(complete("version\ncl") == (["clear"], 8, 10))
        let s = complete("s").matches
        #expect(
            s.allSatisfy { $0.hasPrefix("s") }
                && Set(s) == Set(GradtiInterpreter().registry.names.filter { $0.hasPrefix("s") }))
    }

    @Test func argumentsAndOptions() {
        #expect(complete("help pr").matches == ["print", "profile"])
        #expect(complete("print x st").matches == ["stream="])
        #expect(complete("print x stream=std") == (["stdout", "stderr"], 15, 18))
        #expect(complete("print x stream=stderr st").matches == [])
    }

    @Test func aClosedQuotedValueKeepsTheRangeInsideTheCell() {
        // Found by the cells fuzz harness: the range began past the cursor.
        let (_, start, end) = complete("concept vectors=\"\"")
        #expect(start <= end && end == 18)
        #expect(complete("print x stream=\"std").1 == 16)
    }

    @Test func cursorPositionsAreInUnicodeScalars() {
        let code = "print \"é😀\" st"
        #expect(complete(code) == (["stream="], 11, 13))
    }

    @Test func pathsRelativeToTheWorkingDirectory() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-complete-\(UUID())")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("sub dir"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data().write(to: folder.appendingPathComponent("cat.png"))
        try Data().write(to: folder.appendingPathComponent("cat.txt"))
        let base = folder.path
        #expect(complete("show \(base)/c").matches == ["\(base)/cat.png"])
        #expect(complete("show \"\(base)/s").matches == ["\(base)/sub dir/"])
        #expect(complete("show \"\(base)/s").start == 6)
    }

    @Test func placeholdersInsideText() {
        interpreter.placeholders = { ["<cat-toy>", "<S*>"] }
        #expect(complete("print \"a photo of <c").matches == ["<cat-toy>"])
        #expect(complete("print \"a photo of <c").start == 18)
    }

    @Test func inspectFindsCommandsAndOptions() {
        let command = interpreter.inspect(code: "show x.png", cursor: 2, detailLevel: 0)
        #expect(command.found && command.data["text/plain"]?.hasPrefix("show PATH...") == true)
        let option = interpreter.inspect(code: "print a stream=stderr", cursor: 10, detailLevel: 0)
        #expect(option.data["text/plain"]?.hasPrefix("print stream=") == true)
        #expect(!interpreter.inspect(code: "nosuch", cursor: 3, detailLevel: 0).found)
    }

    @Test func isComplete() {
        #expect(interpreter.isComplete(code: "print \"abc") == .incomplete)
        #expect(interpreter.isComplete(code: "print \"abc\"") == .complete)
        #expect(interpreter.isComplete(code: "print \"a\\q\"") == .invalid)
        #expect(interpreter.isComplete(code: "=oops") == .invalid)
        #expect(interpreter.isComplete(code: "") == .complete)
    }
}
