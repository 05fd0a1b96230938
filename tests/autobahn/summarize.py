#!/usr/bin/env python3
"""Summarize an Autobahn|Testsuite report directory (its index.json).

Prints one line like
    autobahn server: 301 ok, 0 non-strict, 0 informational, 0 failed, 0 unimplemented of 301
then one line per case that is not OK or INFORMATIONAL, writes a per-section markdown table,
and exits 1 on any FAILED, NON-STRICT or UNIMPLEMENTED case, or when fewer cases were
reported than expected (wstest exits 0 even when the testee died half-way).
"""

import argparse
import json
import os
import re
import sys

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
FAILED = "FAILED"
UNIMPLEMENTED = "UNIMPLEMENTED"

# Worst first: a case counts under the worst of its `behavior` and `behaviorClose`.
SEVERITY = [FAILED, UNIMPLEMENTED, NON_STRICT, INFORMATIONAL, OK]

# How the suite's own HTML report grades `behaviorClose` (autobahntestsuite 0.8.2,
# fuzzing.py): WRONG CODE and FAILED BY CLIENT are shown as non-strict, UNCLEAN as failed.
CLOSE_GRADES = {
    "OK": OK,
    "INFORMATIONAL": INFORMATIONAL,
    "NON-STRICT": NON_STRICT,
    "WRONG CODE": NON_STRICT,
    "FAILED BY CLIENT": NON_STRICT,
}

BEHAVIOR_GRADES = {
    "OK": OK,
    "NON-STRICT": NON_STRICT,
    "INFORMATIONAL": INFORMATIONAL,
    "UNIMPLEMENTED": UNIMPLEMENTED,
}

SECTION_NAMES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 handling",
    "7": "Close handling",
    "9": "Limits/performance",
    "10": "Miscellaneous",
    "12": "Compression (payloads)",
    "13": "Compression (parameters)",
}


def grade(case):
    """Grade of one index.json entry: the worse of its behavior and its close behavior."""
    behavior = BEHAVIOR_GRADES.get(case.get("behavior"), FAILED)
    if behavior == UNIMPLEMENTED:
        return UNIMPLEMENTED
    close = CLOSE_GRADES.get(case.get("behaviorClose"), FAILED)
    # An informational close does not make an OK case informational, only a worse one counts.
    if close == INFORMATIONAL:
        close = OK
    return min(behavior, close, key=SEVERITY.index)


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def load_index(report_dir, agent):
    path = os.path.join(report_dir, "index.json")
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except FileNotFoundError:
        sys.exit(f"autobahn: no report at {path} (did wstest run to the end?)")
    except json.JSONDecodeError as e:
        sys.exit(f"autobahn: {path} is not valid JSON: {e}")
    if not isinstance(index, dict) or not index:
        sys.exit(f"autobahn: {path} names no agent")
    if agent is None:
        if len(index) != 1:
            sys.exit(f"autobahn: {path} has agents {sorted(index)}; pick one with --agent")
        agent = next(iter(index))
    if agent not in index:
        sys.exit(f"autobahn: {path} has no agent {agent!r} (it has {sorted(index)})")
    return agent, index[agent]


def case_detail(report_dir, case):
    """The result texts of a case from its own report file, when present."""
    name = case.get("reportfile")
    if not name:
        return ""
    try:
        with open(os.path.join(report_dir, name), encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, json.JSONDecodeError):
        return ""
    description = re.sub(r"<[^>]+>", "", report.get("description", "")).strip().splitlines()
    summary = description[0] if description else ""
    if len(summary) > 110:
        summary = summary[:107] + "..."
    parts = [summary, report.get("result", ""), report.get("resultClose", "")]
    return " | ".join(p for p in parts if p)


def markdown_table(label, agent, cases, grades, seconds):
    sections = {}
    for case_id in cases:
        section = case_id.split(".")[0]
        counts = sections.setdefault(section, {g: 0 for g in SEVERITY})
        counts[grades[case_id]] += 1
    lines = [
        f"Autobahn|Testsuite 0.8.2, fuzzing {'client against the framewire server' if label == 'server' else 'server against the framewire client'} (agent `{agent}`)"
        + (f", {seconds:.0f} s." if seconds is not None else "."),
        "",
        "| Section | Cases | OK | Non-strict | Informational | Failed | Unimplemented |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for section in sorted(sections, key=int):
        c = sections[section]
        name = SECTION_NAMES.get(section, "")
        total = sum(c.values())
        lines.append(
            f"| {section} {name} | {total} | {c[OK]} | {c[NON_STRICT]} | {c[INFORMATIONAL]} | {c[FAILED]} | {c[UNIMPLEMENTED]} |"
        )
    totals = {g: sum(grades[i] == g for i in cases) for g in SEVERITY}
    lines.append(
        f"| **All** | **{len(cases)}** | **{totals[OK]}** | **{totals[NON_STRICT]}** | **{totals[INFORMATIONAL]}** | **{totals[FAILED]}** | **{totals[UNIMPLEMENTED]}** |"
    )
    informational = [i for i in cases if grades[i] == INFORMATIONAL]
    if informational:
        lines += ["", "Informational cases: " + ", ".join(informational) + "."]
    return "\n".join(lines) + "\n"


def compare(report_dir, other_dir, label, agent):
    """Prints whether every case of `report_dir` has the grade it has in `other_dir`; 0 if so."""
    _, entries = load_index(report_dir, agent)
    _, others = load_index(other_dir, agent)
    other = os.path.basename(os.path.normpath(other_dir))
    differ = []
    for case_id in sorted(set(entries) | set(others), key=case_key):
        mine = grade(entries[case_id]) if case_id in entries else "MISSING"
        theirs = grade(others[case_id]) if case_id in others else "MISSING"
        if mine != theirs:
            differ.append((case_id, mine, theirs))
    if not differ:
        print(f"autobahn {label}: the same verdict as the {other} run in all {len(entries)} cases")
        return 0
    print(f"autobahn {label} FAILED: {len(differ)} case(s) graded differently from the {other} run:")
    for case_id, mine, theirs in differ:
        print(f"  {case_id:<8} {label}: {mine}, {other}: {theirs}")
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report_dir", help="directory holding wstest's index.json")
    parser.add_argument("--label", required=True, help="run name for the summary line, e.g. server or client")
    parser.add_argument("--agent", help="agent name in index.json (default: the only one)")
    parser.add_argument("--expected", type=int, help="number of cases the spec selects")
    parser.add_argument("--markdown", help="write a per-section markdown table here")
    parser.add_argument("--seconds", type=float, help="how long the run took, for the summary")
    parser.add_argument(
        "--compare",
        metavar="OTHER_DIR",
        help="only compare: exit 1 unless every case has the same grade as in OTHER_DIR's report",
    )
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(args.report_dir, args.compare, args.label, args.agent))

    agent, entries = load_index(args.report_dir, args.agent)
    try:
        cases = sorted(entries, key=case_key)
    except ValueError:
        sys.exit(f"autobahn: unexpected case ids in {args.report_dir}/index.json")
    grades = {case_id: grade(entries[case_id]) for case_id in cases}
    counts = {g: sum(grades[i] == g for i in cases) for g in SEVERITY}

    took = f" in {args.seconds:.0f} s" if args.seconds is not None else ""
    print(
        f"autobahn {args.label}: {counts[OK]} ok, {counts[NON_STRICT]} non-strict, "
        f"{counts[INFORMATIONAL]} informational, {counts[FAILED]} failed, "
        f"{counts[UNIMPLEMENTED]} unimplemented of {len(cases)}{took}"
    )
    for case_id in cases:
        if grades[case_id] not in (OK, INFORMATIONAL):
            entry = entries[case_id]
            print(
                f"  {grades[case_id]:<13} {case_id:<8} behavior={entry.get('behavior')} "
                f"close={entry.get('behaviorClose')} code={entry.get('remoteCloseCode')}: "
                f"{case_detail(args.report_dir, entry)}"
            )

    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown_table(args.label, agent, cases, grades, args.seconds))

    problems = []
    bad = counts[FAILED] + counts[NON_STRICT] + counts[UNIMPLEMENTED]
    if bad:
        problems.append(f"{bad} case(s) failed, non-strict or unimplemented")
    if args.expected is not None and len(cases) < args.expected:
        problems.append(f"only {len(cases)} of {args.expected} cases were reported (did the testee die?)")
    if problems:
        print(f"autobahn {args.label} FAILED: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
