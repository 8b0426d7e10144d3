"""Auto detection: plain text until markup shows which dialect the output speaks.

Text streams as soon as it cannot be the start of markup. A `<tool_call>`, `<function=…>`,
`<think>` tag is handled in place (the tagged scanner); a harmony token or a stripped
harmony header (`analysis…`, `…assistantfinal…`, `commentary to=functions.f`) hands the
rest of the output to the harmony parser, whenever it appears. Every decision depends only
on the text, never on where deltas were cut, so the parse of a whole text is this same
machine fed everything and closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial

from agent.parsing import tagged
from agent.parsing.harmony import HarmonyStream, parse_stripped_header
from agent.parsing.scanner import skip_space, token_at
from agent.parsing.tagged import TaggedStream
from agent.parsing.types import Delta, Dialect, register_dialect

_HARMONY_START = re.compile(r"[<{\[`]|assistant|\b(?:analysis|commentary) to=")
_HARMONY_TAGS_ONLY = re.compile(r"<|assistant|\b(?:analysis|commentary) to=")
_STRIPPED_WORDS = ("assistant", "analysis to=", "commentary to=")
# `</think>` with no `<think>`: the chat template opened the block in the prompt. Until
# the first of these marks, the text may be that reasoning.
_MARKS = (*tagged.FIRST_TAGS, "<|")
_FIRST_MARK = re.compile("|".join(re.escape(t) for t in _MARKS))
_LONGEST_MARK = max(len(t) for t in _MARKS)


class AutoStream(TaggedStream):
    """Parses output of any dialect. `text_target` is where plain text goes ("content",
    or "reasoning" for a server's reasoning field). With `reasoning_first`, text before a
    first tag that closes `<think>`/`<reasoning>` is reasoning, so the start of the output
    is held until a tag (or the end) decides it. Without `json_calls` (the client asked
    for a JSON answer), bare JSON is text, never a call, and is not held."""

    def __init__(
        self,
        tool_names: Sequence[str] = (),
        *,
        text_target: str = "content",
        reasoning_first: bool = False,
        json_calls: bool = True,
    ) -> None:
        bare_json = "start" if text_target == "content" else "tail"
        if not json_calls:
            bare_json = "never"
        super().__init__(
            tool_names, tool_call_tags=True, bare_json=bare_json, text_target=text_target
        )
        self._special = _HARMONY_START if self._json_calls else _HARMONY_TAGS_ONLY
        self._at_start = True
        self._reasoning_first = reasoning_first
        self._mark_scan = 0
        self._harmony: HarmonyStream | None = None

    def _step(self, eof: bool) -> bool:
        if self._harmony is not None:
            return False
        if self._at_start:
            return self._output_start(eof)
        if self._reasoning_first:
            return self._until_first_mark(eof)
        return super()._step(eof)

    def _output_start(self, eof: bool) -> bool:
        """Stripped harmony may open the output without a role (`analysisWe need…`)."""
        pos = skip_space(self._buf, self._pos, eof)
        header = parse_stripped_header(
            self._buf, pos, eof, require_role=False, role_implied=True, tool_names=self.tool_names
        )
        self._at_start = False
        if header is not None:
            self._to_harmony(pos, at_output_start=True)
        return True

    def _until_first_mark(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        match = _FIRST_MARK.search(buf, max(pos, self._mark_scan))
        if match is None and not eof:
            self._mark_scan = max(pos, len(buf) - _LONGEST_MARK)
            return False
        self._reasoning_first = False
        if match is not None and match.group() in tagged.CLOSERS:
            self._write("reasoning", buf[pos : match.start()])
            self._end_segment("reasoning")
            self._pos = match.end()
        return True

    def _held_words(self, eof: bool) -> tuple[str, ...]:
        return (*super()._held_words(eof), "<|", *_STRIPPED_WORDS)

    def _special_at(self, buf: str, i: int, eof: bool) -> Callable[[], None] | None:
        if buf.startswith("<", i) and token_at(buf, i, eof):
            return partial(self._to_harmony, i, at_output_start=False)
        if buf[i] in "ac" and self._stripped_header_at(buf, i, eof):
            return partial(self._to_harmony, i, at_output_start=False)
        return super()._special_at(buf, i, eof)

    def _stripped_header_at(self, buf: str, i: int, eof: bool) -> bool:
        """`assistant` + channel, or a channel word with a recipient, in running text."""
        with_role = buf.startswith("assistant", i)
        header = parse_stripped_header(
            buf, i, eof, require_role=with_role, tool_names=self.tool_names
        )
        return header is not None and (with_role or header[0].recipient is not None)

    def _to_harmony(self, at: int, *, at_output_start: bool) -> None:
        """Hand everything from `at` on to the harmony parser, sharing this output."""
        self._end_segment(self._text_target)
        self._harmony = HarmonyStream(
            self.tool_names,
            unlabelled=self._text_target,
            out=self._out,
            at_output_start=at_output_start,
        )
        rest, self._buf, self._pos = self._buf[at:], "", 0
        self._harmony.push(rest)

    def push(self, text: str) -> None:
        if self._harmony is not None:
            self._harmony.push(text)
        else:
            super().push(text)

    def feed(self, text: str) -> Delta:
        self.push(text)
        return self._take_delta()

    def finish(self) -> None:
        super().finish()
        if self._harmony is not None:
            self._harmony.finish()


@register_dialect("auto")
class AutoDialect(Dialect):
    """Any dialect, detected as the text goes."""

    def stream(
        self,
        tool_names: Sequence[str] = (),
        *,
        text_target: str = "content",
        reasoning_opened: bool = False,
    ) -> AutoStream:
        return AutoStream(tool_names, text_target=text_target, reasoning_first=reasoning_opened)
