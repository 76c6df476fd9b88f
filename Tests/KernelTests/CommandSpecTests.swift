import Testing

@testable import Kernel

/// What the command registry promises about every spec, so help, completion and the getters that
/// commands call agree.
@Suite struct CommandSpecTests {
    let registry = GradtiInterpreter().registry

    /// Before: defaults were prose ("unchanged (initially 0)"), and `int()` read them as 0.
    @Test func everyDefaultIsAValueOfItsKind() {
        for spec in registry.commands {
            for option in spec.options {
                if let value = option.defaultValue {
                    #expect(option.kind.problem(with: value) == nil, "\(spec.name) \(option.name)=\(value)")
                }
            }
        }
    }

    @Test func helpSaysWhatLeavingAnOptionOutMeans() {
        for spec in registry.commands {
            for option in spec.options where !option.isRequired {
                #expect(option.defaultValue != nil || option.note != nil, "\(spec.name) \(option.name)= says nothing")
            }
        }
    }

    @Test func gettersNeverMakeUpAValue() throws {
        let parser = Parser(registry: registry)
        guard case .command(let call) = try parser.parse("generate \"a photo\" n=2").first else {
            Issue.record("generate did not parse")
            return
        }
        #expect(try call.int("n") == 2)
        #expect(try call.int("steps") == 30)
        #expect(try call.givenInt("steps") == nil)
        #expect(call.given("n") && !call.given("seed"))
        #expect(throws: CommandError.self) { try call.int("no_such_option") }
    }
}

/// Forms selected by a first word (`load session FILE`, `show concept`) are declared in the spec,
/// so parsing, help, completion and inspect all know them (before: parsed by hand in the actions).
@Suite struct SubcommandTests {
    let interpreter = GradtiInterpreter()

    @Test func formsParseAsTheirOwnCommands() throws {
        let parser = Parser(registry: interpreter.registry)
        guard case .command(let call) = try parser.parse("load session run.safetensors").first else {
            Issue.record("no command")
            return
        }
        #expect(call.spec.name == "load session" && call.value("FILE") == "run.safetensors")
        #expect(throws: CellError.self) { try parser.parse("load session") }
        do {
            _ = try parser.parse("load embedding")
        } catch {
            #expect(error.message.contains("`load embedding` needs FILE"))
        }
        // The parent keeps its own first argument; an option of a form is not the parent's.
        guard case .command(let plain) = try parser.parse("load models/x").first else { return }
        #expect(plain.spec.name == "load" && plain.value("PATH") == "models/x")
        #expect(throws: CellError.self) { try parser.parse("load models/x token=<a>") }
        guard case .command(let late) = try parser.parse("load token=<a> embedding e.safetensors").first else { return }
        #expect(late.spec.name == "load embedding" && late.givenOption("token") == "<a>")
        guard case .command(let concept) = try parser.parse("show concept").first else { return }
        #expect(concept.spec.name == "show concept")
    }

    @Test func helpCompletionAndInspectKnowTheForms() throws {
        let help = HelpText.plain(try #require(interpreter.registry["load"]))
        #expect(help.contains("load session FILE") && help.contains("load embedding FILE [token=TEXT]"))
        #expect(interpreter.complete(code: "load s", cursor: 6).matches.contains("session"))
        #expect(interpreter.complete(code: "show c", cursor: 6).matches.contains("concept"))
        #expect(interpreter.complete(code: "load embedding x.safetensors t", cursor: 30).matches == ["token="])
        let inspected = interpreter.inspect(code: "load session", cursor: 12, detailLevel: 0)
        #expect(inspected.data["text/plain"]?.contains("Restore a session") == true)
    }
}
