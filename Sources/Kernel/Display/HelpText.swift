import Jupyter

/// Help rendered from the registry, as plain text (terminals, pager) and Markdown (notebooks).
public enum HelpText {
    static func overview(_ registry: CommandRegistry) -> MimeBundle {
        let width = registry.names.map(\.count).max() ?? 0
        var plain = ["Commands (one per line; `#` starts a comment; `help COMMAND` or `COMMAND?` for details):", ""]
        var markdown = [
            "**Commands** — one per line; `#` starts a comment; `help COMMAND` or `COMMAND?` for details.",
            "", "| command | what it does |", "|---|---|"
        ]
        for command in registry.commands {
            plain.append(
                "  " + command.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + command.summary)
            markdown.append("| `\(command.usage)` | \(command.summary) |")
        }
        return [
            "text/plain": .string(plain.joined(separator: "\n")),
            "text/markdown": .string(markdown.joined(separator: "\n"))
        ]
    }

    static func command(_ spec: CommandSpec) -> MimeBundle {
        ["text/plain": .string(plain(spec)), "text/markdown": .string(markdown(spec))]
    }

    static func plain(_ spec: CommandSpec) -> String {
        var lines = ["\(spec.usage)", "", spec.summary]
        if !spec.details.isEmpty { lines += ["", spec.details] }
        if !spec.arguments.isEmpty {
            lines += ["", "Arguments:"]
            for argument in spec.arguments { lines.append("  \(argument.name)  \(argument.help)") }
        }
        if !spec.options.isEmpty {
            lines += ["", "Options:"]
            for option in spec.options {
                lines.append("  \(option.name)=\(option.kind.placeholder)  \(option.help) \(option.defaultNote)")
            }
        }
        if !spec.subcommands.isEmpty {
            lines += ["", "Forms:"]
            for form in spec.subcommands {
                lines.append("  \(form.usage)  \(form.summary)")
                for option in form.options {
                    lines.append("    \(option.name)=\(option.kind.placeholder)  \(option.help) \(option.defaultNote)")
                }
            }
        }
        if !spec.examples.isEmpty {
            lines += ["", "Examples:"] + spec.examples.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    static func markdown(_ spec: CommandSpec) -> String {
        var lines = ["`\(spec.usage)`", "", spec.summary]
        if !spec.details.isEmpty { lines += ["", spec.details] }
        if !spec.arguments.isEmpty {
            lines += [""] + spec.arguments.map { "- `\($0.name)`: \($0.help)" }
        }
        if !spec.options.isEmpty {
            lines +=
                [""]
                + spec.options.map {
                    "- `\($0.name)=\($0.kind.placeholder)`: \($0.help) "
                        + markdownDefault($0)
                }
        }
        for form in spec.subcommands {
            lines += ["", "`\(form.usage)`: \(form.summary)"]
            if !form.options.isEmpty {
                lines +=
                    [""]
                    + form.options.map { "- `\($0.name)=\($0.kind.placeholder)`: \($0.help) " + markdownDefault($0) }
            }
        }
        if !spec.examples.isEmpty {
            lines += ["", "```"] + spec.examples + ["```"]
        }
        return lines.joined(separator: "\n")
    }

    /// `defaultNote` with values as code: "(default `8`)", "(default: unchanged (initially 8))".
    static func markdownDefault(_ option: OptionSpec) -> String {
        guard !option.isRequired, let value = option.defaultValue, !value.isEmpty else { return option.defaultNote }
        return "(default `\(value)`" + (option.note.map { ", \($0)" } ?? "") + ")"
    }

    /// The full command reference in Markdown, as the README carries it.
    public static func reference(_ registry: CommandRegistry) -> String {
        registry.commands.map { "### `\($0.name)`\n\n" + markdown($0) }.joined(separator: "\n\n") + "\n"
    }

    static func option(_ option: OptionSpec, of spec: CommandSpec) -> String {
        "\(spec.name) \(option.name)=\(option.kind.placeholder)\n\n\(option.help) \(option.defaultNote)"
    }
}
