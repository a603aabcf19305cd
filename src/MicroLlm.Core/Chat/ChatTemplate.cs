using System.Text;

namespace MicroLlm.Chat;

/// <summary>One message of a conversation, for a <see cref="ChatTemplate"/>.</summary>
/// <param name="Role">The role: <c>system</c>, <c>user</c> or <c>assistant</c> (others are passed through where the format allows).</param>
/// <param name="Content">The message text.</param>
public readonly record struct ChatTurn(string Role, string Content);

/// <summary>A piece of a rendered prompt: template markup (tokenized with control tokens recognised) or message content (tokenized as plain text).</summary>
/// <param name="Text">The text.</param>
/// <param name="IsMarkup">Whether this is the template's own markup, in which control tokens such as <c>&lt;|im_start|&gt;</c> are meant.</param>
public readonly record struct ChatPromptPart(string Text, bool IsMarkup);

/// <summary>
/// A chat prompt format: turns a conversation into the text the model was trained on, keeping the template's markup
/// apart from message content so that text inside a message can never become a control token.
/// </summary>
public sealed class ChatTemplate
{
    private readonly Action<IReadOnlyList<ChatTurn>, bool, List<ChatPromptPart>> _render;

    private ChatTemplate(string name, string[] stopStrings, Action<IReadOnlyList<ChatTurn>, bool, List<ChatPromptPart>> render)
    {
        Name = name;
        StopStrings = stopStrings;
        _render = render;
    }

    /// <summary>The format's name: <c>llama2</c>, <c>llama2-sys</c>, <c>llama3</c>, <c>chatml</c>, <c>phi3</c> or <c>gemma</c>.</summary>
    public string Name { get; }

    /// <summary>Text that ends the assistant's turn in this format; generation stops there.</summary>
    public IReadOnlyList<string> StopStrings { get; }

    /// <summary>ChatML (<c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;</c>): Qwen, SmolLM, many fine-tunes.</summary>
    public static ChatTemplate ChatML { get; } = new("chatml", ["<|im_end|>"], (turns, addAssistant, o) =>
    {
        foreach (var t in turns)
        {
            o.Add(new("<|im_start|>" + t.Role + "\n", true));
            o.Add(new(t.Content, false));
            o.Add(new("<|im_end|>\n", true));
        }

        if (addAssistant)
        {
            o.Add(new("<|im_start|>assistant\n", true));
        }
    });

    /// <summary>Llama 3 (<c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n…&lt;|eot_id|&gt;</c>).</summary>
    public static ChatTemplate Llama3 { get; } = new("llama3", ["<|eot_id|>"], (turns, addAssistant, o) =>
    {
        foreach (var t in turns)
        {
            o.Add(new("<|start_header_id|>" + t.Role + "<|end_header_id|>\n\n", true));
            o.Add(new(t.Content.Trim(), false));
            o.Add(new("<|eot_id|>", true));
        }

        if (addAssistant)
        {
            o.Add(new("<|start_header_id|>assistant<|end_header_id|>\n\n", true));
        }
    });

    /// <summary>Llama 2 chat (<c>[INST] … [/INST]</c>) with a <c>&lt;&lt;SYS&gt;&gt;</c> system block.</summary>
    public static ChatTemplate Llama2 { get; } = CreateLlama2("llama2-sys", systemBlock: true);

    /// <summary>Llama 2 chat for models without a system block (Mistral-style <c>[INST]</c>): a system message is prepended to the first turn.</summary>
    public static ChatTemplate Llama2NoSystem { get; } = CreateLlama2("llama2", systemBlock: false);

    /// <summary>Phi-3 (<c>&lt;|user|&gt;\n…&lt;|end|&gt;\n</c>).</summary>
    public static ChatTemplate Phi3 { get; } = new("phi3", ["<|end|>", "<|endoftext|>"], (turns, addAssistant, o) =>
    {
        foreach (var t in turns)
        {
            o.Add(new("<|" + t.Role + "|>\n", true));
            o.Add(new(t.Content, false));
            o.Add(new("<|end|>\n", true));
        }

        if (addAssistant)
        {
            o.Add(new("<|assistant|>\n", true));
        }
    });

    /// <summary>Gemma and Gemma 2 (<c>&lt;start_of_turn&gt;user\n…&lt;end_of_turn&gt;\n</c>; the assistant is <c>model</c>; a system message joins the first user turn).</summary>
    public static ChatTemplate Gemma { get; } = new("gemma", ["<end_of_turn>"], (turns, addAssistant, o) =>
    {
        string system = string.Empty;
        foreach (var t in turns)
        {
            if (t.Role == "system")
            {
                system = t.Content.Trim();
                continue;
            }

            string role = t.Role == "assistant" ? "model" : t.Role;
            o.Add(new("<start_of_turn>" + role + "\n", true));
            if (system.Length > 0 && role != "model")
            {
                o.Add(new(system + "\n\n", false));
                system = string.Empty;
            }

            o.Add(new(t.Content.Trim(), false));
            o.Add(new("<end_of_turn>\n", true));
        }

        if (addAssistant)
        {
            o.Add(new("<start_of_turn>model\n", true));
        }
    });

    /// <summary>The built-in formats.</summary>
    public static IReadOnlyList<ChatTemplate> BuiltIn { get; } = [ChatML, Llama3, Llama2, Llama2NoSystem, Phi3, Gemma];

    /// <summary>Gets a built-in format by name.</summary>
    /// <param name="name">One of the names in <see cref="BuiltIn"/>.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException">No built-in format has that name; the message lists them.</exception>
    public static ChatTemplate FromName(string name) =>
        BuiltIn.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown chat template '{name}'; the built-in ones are {string.Join(", ", BuiltIn.Select(t => t.Name))}.", nameof(name));

    /// <summary>
    /// Recognises the format of a model's <c>tokenizer.chat_template</c> (a Jinja template) by its markers.
    /// </summary>
    /// <param name="jinjaTemplate">The template text from the model file, or a built-in name.</param>
    /// <returns>The matching built-in format, or <see langword="null"/> when none matches.</returns>
    public static ChatTemplate? Detect(string? jinjaTemplate)
    {
        if (string.IsNullOrEmpty(jinjaTemplate))
        {
            return null;
        }

        if (BuiltIn.FirstOrDefault(t => t.Name == jinjaTemplate) is { } named)
        {
            return named;
        }

        bool Has(string s) => jinjaTemplate.Contains(s, StringComparison.Ordinal);
        if (Has("<|im_start|>") && !Has("<|im_sep|>"))
        {
            return ChatML;
        }

        if (Has("[INST]"))
        {
            return Has("<<SYS>>") ? Llama2 : Llama2NoSystem;
        }

        if (Has("<|assistant|>") && Has("<|end|>"))
        {
            return Phi3;
        }

        if (Has("<start_of_turn>"))
        {
            return Gemma;
        }

        if (Has("<|start_header_id|>") && Has("<|end_header_id|>"))
        {
            return Llama3;
        }

        return null;
    }

    /// <summary>Renders a conversation as prompt parts, markup apart from content.</summary>
    /// <param name="turns">The conversation so far.</param>
    /// <param name="addAssistantPrompt">Whether to end with the opening of the assistant's turn (true when asking for a reply).</param>
    /// <returns>The parts, in order.</returns>
    public IReadOnlyList<ChatPromptPart> Render(IEnumerable<ChatTurn> turns, bool addAssistantPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var list = turns.ToList();
        foreach (var t in list)
        {
            if (string.IsNullOrWhiteSpace(t.Role) || t.Content is null)
            {
                throw new ArgumentException("Every chat turn needs a role and content (content may be empty).", nameof(turns));
            }
        }

        var parts = new List<ChatPromptPart>();
        _render(list, addAssistantPrompt, parts);
        return parts;
    }

    /// <summary>Renders a conversation as one string (markup and content joined).</summary>
    /// <param name="turns">The conversation so far.</param>
    /// <param name="addAssistantPrompt">Whether to end with the opening of the assistant's turn.</param>
    /// <returns>The prompt text.</returns>
    public string Format(IEnumerable<ChatTurn> turns, bool addAssistantPrompt = true)
    {
        var sb = new StringBuilder();
        foreach (var p in Render(turns, addAssistantPrompt))
        {
            sb.Append(p.Text);
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static ChatTemplate CreateLlama2(string name, bool systemBlock) => new(name, ["</s>"], (turns, addAssistant, o) =>
    {
        bool insideTurn = true; // the caller's BOS opens the first turn
        o.Add(new("[INST] ", true));
        foreach (var t in turns)
        {
            if (!insideTurn)
            {
                insideTurn = true;
                o.Add(new("[INST] ", true));
            }

            switch (t.Role)
            {
                case "system" when systemBlock:
                    o.Add(new("<<SYS>>\n", true));
                    o.Add(new(t.Content, false));
                    o.Add(new("\n<</SYS>>\n\n", true));
                    break;
                case "system":
                    o.Add(new(t.Content + "\n", false));
                    break;
                case "user":
                    o.Add(new(t.Content, false));
                    o.Add(new(" [/INST]", true));
                    break;
                default:
                    o.Add(new(t.Content, false));
                    o.Add(new("</s>", true));
                    insideTurn = false;
                    break;
            }
        }
    });
}
