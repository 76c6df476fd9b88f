"""Writes pretokenizer-cases.json: texts split by CLIP's pre-tokenizer pattern with Python's `regex`
(as openai/CLIP's SimpleTokenizer splits them). Texts are random mixes of letters, digits,
punctuation, apostrophes, contraction endings, special-token pieces, combining marks, emoji and
letters that case-fold to ASCII (ſ, K), lower-cased as CLIP lower-cases them before splitting.

    python -m venv /tmp/rx && /tmp/rx/bin/pip install regex
    /tmp/rx/bin/python Tests/DiffusionTests/Fixtures/make_pretokenizer_cases.py
"""
import json, random, pathlib
import regex

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)
PIECES = ["a", "photo", "of", "<s*>", "it", "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'r", "''", "ſ", "'ſ",
          "\u212a", "<|startoftext|>", "<|endoftext|>", "<|", "|>", "<|ſtartoftext|>", "1", "42", "٣", "½", "Ⅻ",
          "!", "?!", ",", ".", "-", "é", "ä\u0301", "x\u0308", "1\ufe0f\u20e3", "👍🏽", "🇫🇷", "日本", "ﬁ", "ß",
          "\u00a0", "\u2003", "\u0345", "a\u0345", "\u0345!", "\u3000", " ", " ", " ", "\t", "ǅ", "ʰ", "中文字", "$", "%", "&", "@#"]

def main():
    rng = random.Random(1234)
    cases = []
    for _ in range(400):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))).lower()
        cases.append({"text": text, "words": PATTERN.findall(text)})
    out = pathlib.Path(__file__).with_name("pretokenizer-cases.json")
    out.write_text(json.dumps({"pattern": PATTERN.pattern, "regex": regex.__version__, "cases": cases},
                              ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases written to {out}")

main()
