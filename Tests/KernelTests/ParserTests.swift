import Testing

@testable import Kernel

@Suite struct ParserTests {
    let parser = Parser(registry: GradtiInterpreter().registry)

    func error(_ cell: String) -> CellError? {
        do { _ = try parser.parse(cell) } catch { return error }
        return nil
    }

    @Test func bindsArgumentsAndOptionsWithDefaults() throws {
        let lines = try parser.parse("print a \"b c\" stream=stderr\nclear")
        guard case .command(let print) = lines[0], case .command(let clear) = lines[1] else {
            Issue.record("not commands")
            return
        }
        #expect(print.values("TEXT") == ["a", "b c"])
        #expect(try print.option("stream") == "stderr")
        #expect(try clear.option("wait") == "false")
        #expect(clear.line == 2)
    }

    @Test func unknownCommandsSuggestTheNearest() throws {
        let e = try #require(error("version\nprnt x"))
        #expect(e.kind == .unknownCommand)
        #expect(e.position.line == 2)
        #expect(e.message.contains("did you mean `print`?"))
        #expect(error("zzzzzz")?.message.contains("did you mean") == false)
    }

    @Test func usageErrors() {
        #expect(error("sleep")?.message.contains("needs SECONDS") == true)
        #expect(error("sleep 1 2")?.message.contains("too many arguments") == true)
        #expect(error("sleep soon")?.message.contains("not a number") == true)
        #expect(error("sleep -1")?.message.contains("outside") == true)
        #expect(error("version 3")?.message.contains("takes no arguments") == true)
        #expect(error("print x strem=stderr")?.message.contains("did you mean `stream`?") == true)
        #expect(error("print x stream=sterr")?.message.contains("did you mean `stderr`?") == true)
        #expect(error("print x stream=stderr stream=stdout")?.message.contains("twice") == true)
        #expect(error("help nosuch")?.kind == .unknownCommand)
        #expect(error("\"quoted\" first")?.kind == .syntax)
    }

    @Test func questionMarkAsksForThePager() throws {
        let lines = try parser.parse("show?\n?print")
        guard case .helpPage(let spec, _) = lines[0], case .helpPage(let other, _) = lines[1] else {
            Issue.record("not help pages")
            return
        }
        #expect(spec.name == "show" && other.name == "print")
    }

    @Test func theWholeCellIsCheckedBeforeAnythingRuns() {
        #expect(error("print ok\nprint \"unclosed")?.unfinished == true)
    }
}

@Suite struct RegistryTests {
    @Test func editDistanceCountsTranspositionsOnce() {
        #expect(editDistance("prnit", "print") == 1)
        #expect(editDistance("", "abc") == 3)
        #expect(editDistance("kitten", "sitting") == 3)
    }

    @Test func helpIsGeneratedFromTheSpec() throws {
        let registry = GradtiInterpreter().registry
        let show = try #require(registry["show"])
        let text = HelpText.plain(show)
        #expect(text.hasPrefix("show PATH..."))
        #expect(text.contains(show.summary))
        let overview = HelpText.overview(registry)["text/plain"]?.string ?? ""
        for name in registry.names { #expect(overview.contains(name)) }
    }
}
