// gradti's cell language: Kernel's Lexer and Parser against the real command registry, and the
// kernel's is_complete, complete and inspect answers (nothing is executed).
//
// Input: the cell's text (UTF-8, invalid bytes replaced). The completion cursor is the end of the
// cell and a position taken from the input's length.
//
// Properties: every error and token points inside the cell (line, column, offset), which the
// kernel's traceback relies on to draw its caret; completion ranges lie within the cell.
import Foundation
import Jupyter
import Kernel

let interpreter = GradtiInterpreter()
let parser = Parser(registry: interpreter.registry)

func setUp() {
    _ = parser.registry.names
    _ = interpreter.isComplete(code: "help")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCells(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let cell = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let scalars = Array(cell.unicodeScalars)
    let lineCount = scalars.filter { $0 == "\n" }.count + 1

    func inside(_ p: SourcePosition, _ what: String) {
        require(p.line >= 1 && p.line <= lineCount, "\(what): line \(p.line) of a \(lineCount)-line cell")
        require(p.column >= 1, "\(what): column \(p.column)")
        require(p.offset >= 0 && p.offset <= scalars.count, "\(what): offset \(p.offset) in \(scalars.count) scalars")
    }

    if let lines = try? Lexer.lines(cell) {
        for line in lines {
            require(!line.tokens.isEmpty, "an empty line of tokens")
            for token in line.tokens {
                inside(token.start, "token start")
                inside(token.end, "token end")
                require(token.start.offset < token.end.offset, "a token of no length at \(token.start)")
            }
        }
    }
    do {
        for parsed in try parser.parse(cell) {
            switch parsed {
            case .command(let call):
                require(call.line >= 1 && call.line <= lineCount, "command on line \(call.line) of \(lineCount)")
                inside(call.nameToken.start, "command name")
                for name in call.options.keys {
                    require(call.spec.option(named: name) != nil, "unknown option \(name) accepted")
                }
            case .helpPage(_, let line):
                require(line >= 1 && line <= lineCount, "help page on line \(line) of \(lineCount)")
            }
        }
        require(interpreter.isComplete(code: cell) == .complete, "parsed, but is_complete says otherwise")
    } catch {
        inside(error.position, "\(error.kind.rawValue) \(error.message)")
        require(!error.message.isEmpty, "an error without a message")
        _ = interpreter.isComplete(code: cell)
    }

    for cursor in [scalars.count, size % (scalars.count + 1)] {
        let completion = interpreter.complete(code: cell, cursor: cursor)
        require(
            0 <= completion.cursorStart && completion.cursorStart <= completion.cursorEnd
                && completion.cursorEnd <= scalars.count,
            "completion range \(completion.cursorStart)..<\(completion.cursorEnd) in \(scalars.count) scalars")
        _ = interpreter.inspect(code: cell, cursor: cursor, detailLevel: 0)
    }
    return 0
}
