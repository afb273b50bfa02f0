"""The `{{name}}` policy pack (Python, built with componentize-py)."""

import sys

from wit_world import exports
from wit_world.imports import host, types

RULE = "{{name}}.no-shouting"


class _Log:
    """`print` goes to the run's log: the component has no stdout of its own."""

    def __init__(self, level: types.Level) -> None:
        self.level = level
        self.line = ""

    def write(self, text: str) -> int:
        self.line += text
        *done, self.line = self.line.split("\n")
        for line in done:
            host.log(self.level, line)
        return len(text)

    def flush(self) -> None:
        pass


sys.stdout = _Log(types.Level.INFO)
sys.stderr = _Log(types.Level.WARN)


class Policy(exports.Policy):
    def describe(self) -> types.PackInfo:
        return types.PackInfo(
            name="{{name}}",
            version="0.1.0",
            rules=[
                types.RuleInfo(
                    id=RULE,
                    severity=types.Severity.LOW,
                    description="Email subjects are not written in capitals only.",
                    citation=None,
                )
            ],
            sdk=None,
        )

    def validate(self, action: types.Action, ctx: types.RunContext) -> types.Verdict:
        kind = action.kind
        if isinstance(kind, types.ActionKind_Email):
            subject = kind.value.subject
            minimum = int(host.config("min-letters") or "4")
            letters = sum(1 for c in subject if c.isalpha())
            if letters >= minimum and not any(c.islower() for c in subject):
                print(f"{action.id}: the subject shouts")
                finding = types.Finding(
                    rule=RULE,
                    severity=types.Severity.LOW,
                    message="The subject is written in capitals only.",
                    evidence=[],
                    location=types.Span(
                        field="subject",
                        start=0,
                        end=len(subject.encode()),
                        excerpt=subject,
                    ),
                    citation=None,
                    fix=None,
                )
                return types.Verdict_Deny([finding])
        return types.Verdict_Allow()
