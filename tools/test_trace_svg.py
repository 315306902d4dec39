#!/usr/bin/env python3
"""Tests of tools/trace_svg.py (standard library only): python3 tools/test_trace_svg.py

Run by `cargo test --test trace_json` too, when python3 is there.
"""
import io
import json
import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_svg  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def sample_trace():
    """Two Ps and a "no P" row; G1 wakes G2 (arrow), G3 runs long enough for its label."""
    ev = [{"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "goroutines"}}]
    for tid, name in [(1, "P0"), (2, "P1"), (100000, "no P")]:
        ev.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": name}})
        ev.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index",
                   "args": {"sort_index": tid}})

    def x(tid, ts, dur, g, end="park", reason="chan receive"):
        return {"ph": "X", "pid": 1, "tid": tid, "ts": ts, "dur": dur, "name": "G%d" % g,
                "cat": "goroutine", "args": {"goroutine": g, "spawn_site": "src/demo.rs:%d:5" % g,
                                              "end": end, "wait_reason": reason}}
    ev += [x(1, 10.0, 20.0, 1), x(2, 35.0, 5.0, 2, "exit", None), x(1, 40.0, 400.0, 3, "yield"),
           x(100000, 450.0, 10.0, 4)]
    ev += [{"ph": "s", "pid": 1, "tid": 1, "ts": 25.0, "id": 1, "cat": "goroutines", "name": "wake"},
           {"ph": "f", "bp": "e", "pid": 1, "tid": 2, "ts": 35.01, "id": 1, "cat": "goroutines",
            "name": "wake"}]
    ev += [{"ph": "C", "pid": 1, "tid": 1, "ts": 10.0, "name": "runq", "args": {"P0": 2}},
           {"ph": "C", "pid": 1, "tid": 1, "ts": 40.0, "name": "runq", "args": {"P0": 0}},
           {"ph": "C", "pid": 1, "tid": 1, "ts": 40.0, "name": "runq", "args": {"global": 1}}]
    return {"displayTimeUnit": "ns", "otherData": {"truncated": False}, "traceEvents": ev}


class TraceSvgTest(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(sample_trace(), f)

    def tearDown(self):
        os.unlink(self.path)

    def texts(self, root):
        return [t.text for t in root.iter(SVG + "text")]

    def test_lanes_slices_labels_and_arrows(self):
        root = ET.fromstring(trace_svg.render(self.path))
        texts = self.texts(root)
        for lane in ("P0", "P1", "no P"):
            self.assertIn(lane, texts)
        slices = [r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
        self.assertEqual(len(slices), 4)
        tips = [r.find(SVG + "title").text for r in slices]
        self.assertTrue(any(t.startswith("G1  src/demo.rs:1:5") and "park: chan receive" in t
                            for t in tips), tips)
        self.assertIn("G3", texts)  # 400 µs wide: labelled
        self.assertNotIn("G2", texts)  # 5 µs wide: too narrow for a label
        self.assertEqual(len(list(root.iter(SVG + "line"))) - self.ticks(root), 2)  # axis + arrow
        # The same goroutine gets the same colour everywhere; different ones differ.
        fills = {r.find(SVG + "title").text.split()[0]: r.get("fill") for r in slices}
        self.assertEqual(len(set(fills.values())), 4)
        self.assertEqual(trace_svg.colour(3), fills["G3"])

    def ticks(self, root):
        return sum(1 for t in root.iter(SVG + "text") if t.text and t.text.endswith("µs")
                   and t.get("text-anchor") == "middle")

    def test_options(self):
        root = ET.fromstring(trace_svg.render(self.path, width=600, flows_on=False,
                                              counters_on=False, t0=0.0, t1=100.0, title="hi"))
        self.assertEqual(root.get("width"), "600")
        self.assertIn("hi", self.texts(root))
        self.assertFalse(any(l.get("marker-end") for l in root.iter(SVG + "line")))
        self.assertFalse(list(root.iter(SVG + "path"))[1:])  # only the arrow marker's path
        titles = [r.find(SVG + "title").text for r in root.iter(SVG + "rect")
                  if r.find(SVG + "title") is not None]
        self.assertEqual(len(titles), 3)  # G4 at 450 µs is outside the window

    def test_command_line(self):
        out = self.path + ".svg"
        try:
            trace_svg.main([self.path, "-o", out])
            ET.parse(out)
        finally:
            os.unlink(out)
        buf = io.StringIO()
        with redirect_stdout(buf), self.assertRaises(SystemExit) as e:
            trace_svg.main(["--help"])
        self.assertEqual(e.exception.code, 0)
        self.assertIn("--no-flows", buf.getvalue())

    def test_nice_steps_and_times(self):
        self.assertEqual(trace_svg.nice_step(1000), 200)
        self.assertEqual(trace_svg.nice_step(70), 10)
        self.assertEqual(trace_svg.fmt_us(2500), "2.5 ms")
        self.assertEqual(trace_svg.fmt_us(12.5), "12.5 µs")
        self.assertNotEqual(trace_svg.colour(1), trace_svg.colour(2))


if __name__ == "__main__":
    unittest.main()
