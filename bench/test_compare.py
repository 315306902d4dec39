"""Tests of bench/compare's parsing and formatting: `python3 bench/test_compare.py`."""

import importlib.machinery
import importlib.util
import unittest
from pathlib import Path

_path = str(Path(__file__).resolve().parent / "compare")
_loader = importlib.machinery.SourceFileLoader("compare", _path)
_spec = importlib.util.spec_from_loader("compare", _loader)
compare = importlib.util.module_from_spec(_spec)
_loader.exec_module(compare)


class ParseBench(unittest.TestCase):
    def test_go_and_harness_lines(self):
        text = """goos: linux
pkg: runtime
BenchmarkMakeChan/Byte-2               \t36460735\t        31.93 ns/op
BenchmarkCreateGoroutinesCapture-2     \t 1609484\t       724.3 ns/op\t     144 B/op\t       5 allocs/op
BenchmarkOnceFunc/v=Once-2         \t953472678\t         1.446 ns/op
BenchmarkChanSync-2\t   9810562\t       116.900 ns/op\t        12.5 extra
PASS
ok  \truntime\t60.847s
"""
        got = compare.parse_bench(text, 2)
        self.assertEqual(got, {"MakeChan/Byte": 31.93, "CreateGoroutinesCapture": 724.3,
                               "OnceFunc/v=Once": 1.446, "ChanSync": 116.9})

    def test_gomaxprocs_one_has_no_suffix_in_go(self):
        self.assertEqual(compare.parse_bench("BenchmarkChanSync \t 100\t 5.0 ns/op", 1), {"ChanSync": 5.0})
        self.assertEqual(compare.parse_bench("BenchmarkChanSync-1\t 100\t 5.0 ns/op", 1), {"ChanSync": 5.0})

    def test_other_suffix_kept(self):
        # A "-4" that is not GOMAXPROCS is part of the name.
        self.assertEqual(compare.parse_bench("BenchmarkX-4-2\t 1\t 3 ns/op", 2), {"X-4": 3.0})


class ParseMillion(unittest.TestCase):
    def test_our_wording(self):
        text = "spawn: 1.23 s\nresident per goroutine: 4321 bytes\nrelease: 0.45 s\n"
        self.assertEqual(compare.parse_million(text), {"spawn": 1.23, "rss_per": 4321, "release": 0.45})

    def test_tolerant_wording_and_units(self):
        text = """goroutines: 1000000
Spawn time: 1,234 ms
resident per task = 2.5 KiB
page tables per goroutine: 512 B
VmPTE per goroutine: 600 bytes
release:450ms
peak resident: 2 GiB
some other line
"""
        got = compare.parse_million(text)
        self.assertAlmostEqual(got["spawn"], 1.234)
        self.assertAlmostEqual(got["release"], 0.45)
        self.assertEqual(got["rss_per"], 2560)
        self.assertEqual(got["pte_per"], 600)
        self.assertNotIn("peak", got)

    def test_unknown_time_unit_is_ignored(self):
        self.assertEqual(compare.parse_million("spawn: 3 parsecs\n"), {})


class ParseEcho(unittest.TestCase):
    def test_generator_output(self):
        # What bench/go/echoload prints.
        text = """connections: 1000
round trips: 612345
duration: 2.001 s
throughput: 306019 msg/s
p50: 3012.5 us
p99: 8801.2 us
p999: 12001.0 us
max: 15002.3 us
"""
        got = compare.parse_echo(text)
        self.assertEqual(set(got), {"throughput", "p50", "p99"})
        self.assertEqual(got["throughput"], 306019)
        self.assertAlmostEqual(got["p50"], 3012.5e-6)
        self.assertAlmostEqual(got["p99"], 8801.2e-6)

    def test_units_and_missing_lines(self):
        got = compare.parse_echo("throughput: 1,234 msg/s\np99: 2.5 ms\n")
        self.assertEqual(got["throughput"], 1234)
        self.assertAlmostEqual(got["p99"], 2.5e-3)
        self.assertEqual(compare.parse_echo("error: connection 3: read: EOF\n"), {})
        self.assertEqual(compare.parse_echo("p99: 3 parsecs\n"), {})

    def test_listening_line_of_each_server(self):
        for line in ("listening: 127.0.0.1:41234", "echo: listening on 127.0.0.1:41234"):
            m = compare.LISTENING.search("noise\n" + line + "\n")
            self.assertEqual(m.group(2), "41234", line)


class EchoServers(unittest.TestCase):
    """The echo scenario's handling of servers, with small Python stand-ins for them."""

    def setUp(self):
        compare.BUILD.mkdir(parents=True, exist_ok=True)
        self.c = compare.Compare(compare.parse_args(["--quick", "--echo-reps", "1"]))

    def test_server_that_exits_fails_its_side_only(self):
        import sys
        results = {("ours", 100): []}
        self.c.echo_side("ours", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
                         Path("/nonexistent/echoload"), [100], 0, results)
        self.assertEqual(len(self.c.failures), 1)
        self.assertIn("exited with 3 before listening", self.c.failures[0].detail)
        self.assertIn("boom", self.c.failures[0].detail)
        self.assertIn(("ours", "echo"), self.c.failed_sides)
        self.assertEqual(results, {("ours", 100): []})

    def test_server_is_killed_when_the_generator_fails(self):
        import sys
        server = ("import socket, time\n"
                  "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
                  "print('listening: 127.0.0.1:%d' % s.getsockname()[1], flush=True)\n"
                  "time.sleep(60)\n")
        results = {("go", 100): [], ("go", 1000): []}
        self.c.echo_side("go", [sys.executable, "-c", server], Path(sys.executable), [100, 1000], 0, results)
        # The "generator" (python -addr ...) fails at each count; the server was killed afterwards.
        self.assertEqual([e.scenario for e in self.c.failures], ["echo 100 conns", "echo 1,000 conns"])
        self.assertEqual(self.c.failed_sides, {("go", "echo:100"), ("go", "echo:1000")})
        log = (compare.BUILD / "echo-go.log").read_text()
        port = int(compare.LISTENING.search(log).group(2))
        import socket
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


    def test_server_that_dies_fails_the_counts_left(self):
        import sys
        # Exits after its first connection, the script's probe; the "generator" (a script that
        # prints nothing, so it fails) runs at the first count, finds the server dead, and the
        # counts left are not run.
        server = ("import socket, time\n"
                  "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
                  "print('listening on 127.0.0.1:%d' % s.getsockname()[1], flush=True)\n"
                  "s.accept(); raise SystemExit(7)\n")
        load = Path(__file__).resolve().parent / "build" / "fake-echoload"
        load.write_text("#!/bin/sh\nsleep 0.5\n")
        load.chmod(0o755)
        results = {("tokio", n): [] for n in (100, 1000, 10000)}
        self.c.echo_side("tokio", [sys.executable, "-c", server], load, [100, 1000, 10000], 0, results)
        load.unlink()
        self.assertEqual([e.scenario for e in self.c.failures], ["echo 100 conns"])
        self.assertIn("The tokio echo server exited with 7", self.c.failures[0].detail)
        self.assertEqual(self.c.failed_sides, {("tokio", "echo:100"), ("tokio", "echo:1000"),
                                               ("tokio", "echo:10000")})


class Format(unittest.TestCase):
    def test_values(self):
        self.assertEqual(compare.fmt_value(116.9, "ns"), "117 ns")
        self.assertEqual(compare.fmt_value(1.446, "ns"), "1.45 ns")
        self.assertEqual(compare.fmt_value(284616, "ns"), "284.6 µs")
        self.assertEqual(compare.fmt_value(3596940, "ns"), "3.60 ms")
        self.assertEqual(compare.fmt_value(None, "ns"), "—")
        self.assertEqual(compare.fmt_value("failed", "s"), "failed")
        self.assertEqual(compare.fmt_count(200_000), "200k")
        self.assertEqual(compare.fmt_count(1_000_000), "1M")

    def test_table_ratio(self):
        info = dict(date="d", flags="", cpu="c", cores=2, kernel="k", procs=2, go="go", tokio="t",
                    rustc="r", reps=1, benchtime=1.0, million_reps=1, notes=["n"])
        text = compare.table([("ChanSync", "ns", 100.0, None, 80.0), ("X", "ns", None, None, 1.0)], info)
        self.assertIn("| ChanSync | 100 ns | — | 80.0 ns | 0.80 |", text)
        self.assertIn("| X | — | — | 1.00 ns | — |", text)
        self.assertTrue(text.endswith("- n\n"))

    def test_throughput_ratio_is_go_over_ours(self):
        info = dict(date="d", flags="", cpu="c", cores=2, kernel="k", procs=2, go="go", tokio="t",
                    rustc="r", reps=1, benchtime=1.0, million_reps=1, echo_reps=3, echo_duration=1.0,
                    echo_warmup=0.5)
        text = compare.table([("echo 100 conns: throughput (ratio Go/ours)", "msg/s", 80000.0, 90000.0, 100000.0),
                              ("echo 100 conns: p99 latency", "latency", 0.002, "failed", 0.001)], info)
        self.assertIn("| echo 100 conns: throughput (ratio Go/ours) | 80,000/s | 90,000/s | 100,000/s | 0.80 |", text)
        self.assertIn("| echo 100 conns: p99 latency | 2.00 ms | failed | 1.00 ms | 0.50 |", text)
        self.assertIn("throughput rows show Go/ours", text)
        self.assertNotIn("Micro benchmarks", text)
        self.assertNotIn("million", text)

    def test_excerpt_starts_at_run_or_error(self):
        out = "warning: x\n  --> a\n     Running benches/x.rs\npanicked\n"
        self.assertTrue(compare.excerpt(out, "").startswith("     Running benches/x.rs"))
        self.assertTrue(compare.excerpt("warning: y\nerror[E0308]: bad\n", "").startswith("error[E0308]"))


class Discovery(unittest.TestCase):
    def test_static_names(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".rs", delete=False) as f:
            f.write('b.run("ChanSync", |n| None);\nb.run_with_metrics(\n  "Million", |n| x);\n'
                    'b.run(&format!("MakeChan/{}", k), |n| None);\n')
        names, complete = compare.static_names(Path(f.name))
        Path(f.name).unlink()
        self.assertEqual(names, ["ChanSync", "Million"])
        self.assertFalse(complete)


if __name__ == "__main__":
    unittest.main()
