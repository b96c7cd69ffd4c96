"""argparse's refusals of a command line, said Japanese first and then in English, as every other refusal
of evac's commands: the city's operators at a shelter or at HQ read them."""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata

from .individual_number import NOT_SHOWN_EN, NOT_SHOWN_JA, not_shown

# argparse's own messages (Python 3.11 to 3.13), and what they say in Japanese.
_WHOLE = [
    (re.compile(r"the following arguments are required: (?P<x>.+)"), "次の指定が要ります: {x}"),
    (re.compile(r"unrecognized arguments: (?P<x>.+)"), "知らない指定があります: {x}（使える指定は --help で見られます）"),
    (re.compile(r"one of the arguments (?P<x>.+) is required"), "{x} のどれかを指定してください"),
    (re.compile(r"ambiguous option: (?P<o>\S+) could match (?P<m>.+)"),
     "{o} は {m} のどれとも取れます。指定を最後まで書いてください"),
]
_ABOUT_ONE = [
    (re.compile(r"invalid choice: (?P<v>.+) \(choose from (?P<c>.+)\)"), "{a} に {v} は指定できません（選べるのは {c}）"),
    (re.compile(r"expected one argument"), "{a} の後に値を書いてください"),
    (re.compile(r"expected at least one argument"), "{a} の後に値を 1 つ以上書いてください"),
    (re.compile(r"expected at most one argument"), "{a} の後の値は 1 つまでです"),
    (re.compile(r"expected (?P<n>\d+) arguments?"), "{a} の後に値を {n} 個書いてください"),
    (re.compile(r"invalid \w+ value: (?P<v>.+)"), "{a} の値 {v} が読めません"),
    (re.compile(r"not allowed with argument (?P<b>.+)"), "{a} と {b} は一緒に指定できません"),
    (re.compile(r"ignored explicit argument (?P<v>.+)"), "{a} に値 {v} は付けられません"),
]
_ARGUMENT = re.compile(r"argument (?P<a>[^:]+): (?P<rest>.+)", re.S)
_COMMAND = ("area", "command")   # the dests of evac's subcommands, as argparse names them
# A typed value is quoted (repr) wherever a message shows it, and may hold " / " itself: only a " / "
# outside quotes parts an evac type's "日本語 / English".
_QUOTED_OR_SLASH = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?P<slash> / )""", re.S)


def has_japanese(text: str) -> bool:
    return any(unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA")) for c in text)


def in_both(message: str) -> tuple[str | None, str]:
    """argparse's `message` as (Japanese, English); no Japanese for a message it has no words for.  An
    argparse type's own refusal is written "日本語 / English" already (evac.cli.positive_int), the value it
    refuses quoted in each half."""
    for pattern, ja in _WHOLE:
        if found := pattern.fullmatch(message):
            return ja.format(**found.groupdict()), message
    if not (argument := _ARGUMENT.fullmatch(message)):
        return None, message
    a, rest = argument["a"], argument["rest"]
    if a in _COMMAND and (found := _ABOUT_ONE[0][0].fullmatch(rest)):
        return f"コマンド {found['v']} はありません（あるのは {found['c']}）", message
    for pattern, ja in _ABOUT_ONE:
        if found := pattern.fullmatch(rest):
            return ja.format(a=a, **found.groupdict()), message
    slash = next((found for found in _QUOTED_OR_SLASH.finditer(rest) if found["slash"]), None)
    if slash and has_japanese(ja_rest := rest[:slash.start()]):
        return f"{a}: {ja_rest}", f"argument {a}: {rest[slash.end():]}"
    return None, message


class ArgumentParser(argparse.ArgumentParser):
    """evac's command line: argparse, whose refusals say Japanese first (its subcommands' parsers are of
    this class too, as argparse makes them of their parent's)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        ja, en = self._command_left_out(message) or in_both(message)
        # 番号法 §20: a value typed where it does not belong is not repeated when it holds an Individual Number
        en = not_shown(en, NOT_SHOWN_EN)
        if ja is None:
            self.exit(2, f"{self.prog}: error: {en}\n")
        self.exit(2, f"{self.prog}: エラー: {not_shown(ja, NOT_SHOWN_JA)} / error: {en}\n")

    def _command_left_out(self, message: str) -> tuple[str, str] | None:
        """argparse names a missing command by its dest ("command"), a word an operator cannot act on: name
        the commands there are instead."""
        missing = _WHOLE[0][0].fullmatch(message)
        commands = next((action.choices for action in self._actions
                         if isinstance(action, argparse._SubParsersAction)), None)
        if not (missing and missing["x"] in _COMMAND and commands):
            return None
        names = ", ".join(commands)
        return (f"コマンドを指定してください（あるのは {names}。それぞれの説明は {self.prog} --help）",
                f"choose a command: {names} ({self.prog} --help says what each does)")
