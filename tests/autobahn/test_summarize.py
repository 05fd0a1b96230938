#!/usr/bin/env python3
"""Tests of summarize.py on hand-made index.json files: `python3 tests/autobahn/test_summarize.py`."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "summarize.py")


def entry(behavior="OK", close="OK", code=1000):
    return {"behavior": behavior, "behaviorClose": close, "remoteCloseCode": code, "duration": 1}


class Summarize(unittest.TestCase):
    def run_on(self, cases, *extra):
        """Runs summarize.py on an index.json holding `cases`; returns (status, stdout, markdown)."""
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "index.json"), "w") as f:
                json.dump({"framewire": cases}, f)
            md = os.path.join(d, "summary.md")
            proc = subprocess.run(
                [sys.executable, SCRIPT, d, "--label", "server", "--markdown", md, *extra],
                capture_output=True,
                text=True,
            )
            with open(md) as f:
                markdown = f.read()
        return proc.returncode, proc.stdout, markdown

    def test_all_ok_and_informational_passes(self):
        cases = {"1.1.1": entry(), "7.1.6": entry("INFORMATIONAL", "INFORMATIONAL"), "10.1.1": entry()}
        status, out, md = self.run_on(cases, "--expected", "3", "--seconds", "4.2")
        self.assertEqual(status, 0, out)
        self.assertEqual(
            out.splitlines()[0],
            "autobahn server: 2 ok, 0 non-strict, 1 informational, 0 failed, 0 unimplemented of 3 in 4 s",
        )
        self.assertIn("| 7 Close handling | 1 | 0 | 0 | 1 | 0 | 0 |", md)
        self.assertIn("| 10 Miscellaneous | 1 | 1 | 0 | 0 | 0 | 0 |", md)

    def test_informational_close_does_not_downgrade_ok(self):
        status, out, _ = self.run_on({"7.13.1": entry("OK", "INFORMATIONAL")})
        self.assertEqual(status, 0, out)
        self.assertTrue(out.startswith("autobahn server: 1 ok,"), out)

    def test_each_bad_grade_fails(self):
        for behavior, close, word in [
            ("NON-STRICT", "OK", "1 non-strict"),
            ("FAILED", "OK", "1 failed"),
            ("UNIMPLEMENTED", "OK", "1 unimplemented"),
            ("OK", "WRONG CODE", "1 non-strict"),
            ("OK", "FAILED BY CLIENT", "1 non-strict"),
            ("OK", "UNCLEAN", "1 failed"),
            ("OK", "FAILED", "1 failed"),
            ("NO_CLOSE", "OK", "1 failed"),
        ]:
            with self.subTest(behavior=behavior, close=close):
                status, out, _ = self.run_on({"1.1.1": entry(), "6.4.3": entry(behavior, close)})
                self.assertEqual(status, 1, out)
                self.assertIn(word, out.splitlines()[0])
                self.assertIn("6.4.3", out)

    def test_missing_cases_fail(self):
        status, out, _ = self.run_on({"1.1.1": entry()}, "--expected", "301")
        self.assertEqual(status, 1, out)

    def test_missing_report_fails_clearly(self):
        with tempfile.TemporaryDirectory() as d:
            proc = subprocess.run(
                [sys.executable, SCRIPT, d, "--label", "client"], capture_output=True, text=True
            )
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no report at", proc.stderr)



class Compare(unittest.TestCase):
    def compare(self, mine, theirs):
        """Runs summarize.py --compare on two hand-made reports; returns (status, stdout)."""
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            for d, cases in ((a, mine), (b, theirs)):
                with open(os.path.join(d, "index.json"), "w") as f:
                    json.dump({"framewire": cases}, f)
            proc = subprocess.run(
                [sys.executable, SCRIPT, a, "--label", "proxied", "--compare", b],
                capture_output=True,
                text=True,
            )
        return proc.returncode, proc.stdout

    def test_the_same_grades_pass(self):
        cases = {"1.1.1": entry(), "7.1.6": entry("INFORMATIONAL", "INFORMATIONAL")}
        status, out = self.compare(cases, dict(cases))
        self.assertEqual(status, 0, out)
        self.assertIn("the same verdict", out)

    def test_a_different_or_missing_case_fails_and_is_named(self):
        status, out = self.compare(
            {"1.1.1": entry("FAILED"), "2.1": entry()},
            {"1.1.1": entry(), "2.1": entry(), "3.1": entry()},
        )
        self.assertEqual(status, 1, out)
        self.assertIn("1.1.1", out)
        self.assertIn("3.1", out)
        self.assertIn("MISSING", out)
        self.assertNotIn("2.1 ", out)

if __name__ == "__main__":
    unittest.main()
