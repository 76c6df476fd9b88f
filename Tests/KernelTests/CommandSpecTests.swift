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
