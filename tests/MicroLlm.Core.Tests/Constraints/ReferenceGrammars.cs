namespace MicroLlm.Tests.Constraints;

/// <summary>
/// Test grammars in the style of the reference runtime's examples (JSON, arithmetic, list, chess moves), written afresh,
/// plus bounded variants a random model can finish, and a Bangla-text grammar.
/// </summary>
internal static class ReferenceGrammars
{
    /// <summary>A JSON object grammar: any value, escapes, numbers, optional whitespace after tokens.</summary>
    public const string Json = """
        # A JSON document whose top level is an object.
        root    ::= object
        value   ::= object | array | string | number | ("true" | "false" | "null") ws

        object  ::=
          "{" ws (
            string ":" ws value
            ("," ws string ":" ws value)*
          )? "}" ws

        array   ::=
          "[" ws (
            value
            ("," ws value)*
          )? "]" ws

        string  ::=
          "\"" (
            [^"\\\x7F\x00-\x1F] |
            "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})   # escapes
          )* "\"" ws

        number  ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

        # whitespace: nothing, a space, or a line break and some indentation
        ws      ::= | " " | "\n" [ \t]{0,20}
        """;

    /// <summary>JSON with bounded strings, numbers, nesting-friendly sizes, so that a random model finishes often.</summary>
    public const string BoundedJson = """
        root    ::= object
        value   ::= object | array | string | number | ("true" | "false" | "null") ws
        object  ::= "{" ws ( member ("," ws member){0,2} )? "}" ws
        member  ::= string ":" ws value
        array   ::= "[" ws ( value ("," ws value){0,2} )? "]" ws
        string  ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) ){0,6} "\"" ws
        number  ::= "-"? ("0" | [1-9] [0-9]{0,3}) ("." [0-9]{1,3})? ([eE] [-+]? [0-9]{1,2})? ws
        ws      ::= | " " | "\n" [ ]{0,4}
        """;

    /// <summary>Equations of expressions over identifiers and numbers, one per line.</summary>
    public const string Arithmetic = """
        root  ::= (expr "=" ws term "\n")+
        expr  ::= term ([-+*/] term)*
        term  ::= ident | num | "(" ws expr ")" ws
        ident ::= [a-z] [a-z0-9_]* ws
        num   ::= [0-9]+ ws
        ws    ::= [ \t\n]*
        """;

    /// <summary>The arithmetic grammar with bounds so a random model finishes.</summary>
    public const string BoundedArithmetic = """
        root  ::= (expr "=" ws term "\n"){1,2}
        expr  ::= term ([-+*/] term){0,2}
        term  ::= ident | num | "(" ws expr ")" ws
        ident ::= [a-z] [a-z0-9_]{0,3} ws
        num   ::= [0-9]{1,3} ws
        ws    ::= [ \t]{0,2}
        """;

    /// <summary>A list of items, one per line.</summary>
    public const string List = """
        root ::= item+
        # no line breaks inside an item
        item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
        """;

    /// <summary>The list grammar with bounds.</summary>
    public const string BoundedList = """
        root ::= item{1,3}
        item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]{1,8} "\n"
        """;

    /// <summary>Chess moves in algebraic notation, numbered.</summary>
    public const string Chess = """
        # numbered move pairs
        root    ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")+
        move    ::= (pawn | nonpawn | castle) [+#]?
        nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
        pawn    ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
        castle  ::= "O-O" "-O"?
        """;

    /// <summary>The chess grammar with at most three numbered lines.</summary>
    public const string BoundedChess = """
        root    ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n"){1,2}
        move    ::= (pawn | nonpawn | castle) [+#]?
        nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
        pawn    ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
        castle  ::= "O-O" "-O"?
        """;

    /// <summary>Bangla words (letters, signs, digits of the Bengali block) separated by single spaces, ending with a danda.</summary>
    public const string Bangla = """
        root   ::= word (" " word){0,3} "\u0964"
        word   ::= letter{1,6}
        letter ::= [\u0981-\u0983] | [\u0985-\u09B9] | [\u09BC-\u09CD] | [\u09E6-\u09EF]
        """;
}
