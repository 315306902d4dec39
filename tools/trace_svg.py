#!/usr/bin/env python3
"""Render a goroutines timeline trace (Chrome Trace Event JSON) as an SVG picture.

One lane per P (and per "no P" row), a rectangle per goroutine run coloured by goroutine id,
wake-ups and spawns as thin arrows, local run-queue lengths as a step line under each P, a time
axis and a legend. Hover a rectangle in a browser for its goroutine, spawn site and stop reason.

    python3 tools/trace_svg.py target/trace_demo.json -o target/trace_demo.svg

Python 3 standard library only. See docs/trace.md for how to record a trace and read the picture.
"""
import argparse
import json
import math
import sys
from xml.sax.saxutils import escape

LANE_H, COUNTER_H, GAP, LEFT, RIGHT, TOP = 24, 10, 8, 64, 16, 34
FONT = "font-family='DejaVu Sans Mono,Menlo,Consolas,monospace'"


def hue(gid):
    """A stable hue for a goroutine id: golden-ratio steps keep neighbouring ids apart."""
    return (gid * 0.6180339887498949) % 1.0 * 360.0


def colour(gid):
    return "hsl(%.0f,62%%,58%%)" % hue(gid)


def nice_step(span, ticks=8):
    """A 1-2-5 step that cuts `span` into about `ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def fmt_us(us):
    if us == 0:
        return "0"
    if abs(us) >= 1000:
        return ("%.3f" % (us / 1000)).rstrip("0").rstrip(".") + " ms"
    return ("%.3f" % us).rstrip("0").rstrip(".") + " µs"


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    names, order = {}, {}
    slices, starts, ends, counters = [], {}, {}, {}
    for e in events:
        ph, tid = e.get("ph"), e.get("tid")
        if ph == "M" and e.get("name") == "thread_name":
            names[tid] = e["args"]["name"]
        elif ph == "M" and e.get("name") == "thread_sort_index":
            order[tid] = e["args"]["sort_index"]
        elif ph == "X":
            slices.append(e)
        elif ph == "s":
            starts[e["id"]] = e
        elif ph == "f":
            ends[e["id"]] = e
        elif ph == "C":
            for key, value in e.get("args", {}).items():
                if key != "global":
                    counters.setdefault(key, []).append((float(e["ts"]), value))
    tids = set(names) | {s["tid"] for s in slices}
    lanes = sorted(tids, key=lambda t: (order.get(t, t), t))
    flows = [(starts[i], ends[i]) for i in starts if i in ends]
    meta = data.get("otherData", {}) if isinstance(data, dict) else {}
    return lanes, names, slices, flows, counters, meta


def render(path, width=1200, flows_on=True, counters_on=True, t0=None, t1=None, title=None):
    lanes, names, slices, flows, counters, meta = load(path)
    if not slices:
        raise SystemExit("trace_svg: %s has no goroutine slices" % path)
    lo = min(float(s["ts"]) for s in slices) if t0 is None else t0
    hi = max(float(s["ts"]) + float(s["dur"]) for s in slices) if t1 is None else t1
    hi = max(hi, lo + 1e-3)
    plot_w = width - LEFT - RIGHT
    x = lambda us: LEFT + (us - lo) / (hi - lo) * plot_w
    lane_y, y = {}, TOP
    for tid in lanes:
        lane_y[tid] = y
        is_p = names.get(tid, "").startswith("P")
        y += LANE_H + (COUNTER_H if counters_on and is_p else 0) + GAP
    axis_y = y + 4
    out = []
    add = out.append

    # Slices: clipped to the window, coloured by goroutine, labelled where the label fits.
    time = {}
    for s in sorted(slices, key=lambda s: float(s["ts"])):
        a, b = float(s["ts"]), float(s["ts"]) + float(s["dur"])
        if b < lo or a > hi:
            continue
        args = s.get("args", {})
        gid = int(args.get("goroutine", s["name"].lstrip("G") or 0))
        time[gid] = time.get(gid, 0.0) + (b - a)
        time.setdefault(("site", gid), args.get("spawn_site", "?"))
        x0, x1 = x(max(a, lo)), x(min(b, hi))
        w, top = max(x1 - x0, 0.6), lane_y[s["tid"]]
        why = args.get("end", "")
        if args.get("wait_reason"):
            why += ": " + args["wait_reason"]
        tip = "%s  %s  %s  %s" % (s["name"], args.get("spawn_site", ""), fmt_us(b - a), why)
        add("<rect x='%.2f' y='%d' width='%.2f' height='%d' fill='%s' stroke='#333' "
            "stroke-width='0.3'><title>%s</title></rect>"
            % (x0, top + 2, w, LANE_H - 4, colour(gid), escape(tip)))
        label = s["name"]
        if w >= 7 * len(label) + 4:
            add("<text x='%.2f' y='%d' font-size='11' %s text-anchor='middle' fill='#111'>%s</text>"
                % (x0 + w / 2, top + LANE_H / 2 + 4, FONT, escape(label)))

    # Local run-queue lengths: a step line in a strip under each P lane.
    if counters_on:
        for tid in lanes:
            name = names.get(tid, "")
            pts = sorted(counters.get(name, []))
            if not name.startswith("P") or not pts:
                continue
            base, peak = lane_y[tid] + LANE_H + COUNTER_H - 1, max(max(v for _, v in pts), 1)
            steps, prev = [], None
            for ts, v in pts + [(hi, pts[-1][1])]:
                ts = min(max(ts, lo), hi)
                yv = base - v / peak * (COUNTER_H - 2)
                steps.append("%s%.2f,%.2f" % ("M" if prev is None else "L", x(ts), yv if prev is None else prev))
                steps.append("L%.2f,%.2f" % (x(ts), yv))
                prev = yv
            add("<path d='%s' fill='none' stroke='#777' stroke-width='0.8'/>" % " ".join(steps))
            add("<text x='%d' y='%d' font-size='8' %s fill='#777' text-anchor='end'>runq ≤%d</text>"
                % (LEFT - 6, base, FONT, peak))

    # Wake-ups and spawns: thin arrows from the waker's slice to the woken goroutine's run.
    if flows_on:
        for s, f in flows:
            if s["tid"] not in lane_y or f["tid"] not in lane_y:
                continue
            a, b = float(s["ts"]), float(f["ts"])
            if b < lo or a > hi:
                continue
            dash = " stroke-dasharray='2,2'" if s.get("name") == "spawn" else ""
            add("<line x1='%.2f' y1='%.1f' x2='%.2f' y2='%.1f' stroke='#222' stroke-width='0.7' "
                "stroke-opacity='0.55' marker-end='url(#arrow)'%s/>"
                % (x(a), lane_y[s["tid"]] + LANE_H / 2, x(b), lane_y[f["tid"]] + LANE_H / 2, dash))

    # Lanes, axis, legend.
    head = []
    for tid in lanes:
        head.append("<text x='%d' y='%d' font-size='12' %s text-anchor='end'>%s</text>"
                    % (LEFT - 6, lane_y[tid] + LANE_H / 2 + 4, FONT, escape(names.get(tid, str(tid)))))
        head.append("<rect x='%d' y='%d' width='%d' height='%d' fill='#f4f4f4'/>"
                    % (LEFT, lane_y[tid], plot_w, LANE_H))
    step = nice_step(hi - lo)
    t = math.ceil(lo / step) * step
    add("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>" % (LEFT, axis_y, width - RIGHT, axis_y))
    while t <= hi + 1e-9:
        add("<line x1='%.2f' y1='%d' x2='%.2f' y2='%d' stroke='#333'/>" % (x(t), axis_y, x(t), axis_y + 4))
        add("<text x='%.2f' y='%d' font-size='10' %s text-anchor='middle'>%s</text>"
            % (x(t), axis_y + 15, FONT, fmt_us(t)))
        t += step
    gids = sorted((g for g in time if not isinstance(g, tuple)), key=lambda g: -time[g])
    ly, lx = axis_y + 46, LEFT
    add("<text x='%d' y='%d' font-size='11' %s>goroutines by time run (hover a slice for details); "
        "arrows: wake-ups (solid), spawns (dashed); grey line: local run queue</text>" % (lx, ly - 10, FONT))
    cols = 3
    for i, g in enumerate(gids[:24]):
        col, row = i % cols, i // cols
        gx, gy = lx + col * (width - LEFT) / cols, ly + row * 16
        add("<rect x='%.1f' y='%d' width='10' height='10' fill='%s' stroke='#333' stroke-width='0.3'/>"
            % (gx, gy, colour(g)))
        add("<text x='%.1f' y='%d' font-size='10' %s>G%d %s (%s)</text>"
            % (gx + 14, gy + 9, FONT, g, escape(str(time[("site", g)])), fmt_us(time[g])))
    if len(gids) > 24:
        add("<text x='%d' y='%d' font-size='10' %s>... and %d more</text>"
            % (lx, ly + 24 // cols * 16 + 9, FONT, len(gids) - 24))
    height = ly + (min(len(gids), 24) + cols - 1) // cols * 16 + (24 if len(gids) > 24 else 8)
    caption = title or "%s: %d slices, %d arrows, %s" % (path, len(slices), len(flows), fmt_us(hi - lo))
    if meta.get("truncated"):
        caption += " (truncated: %s events dropped)" % meta.get("dropped_events")
    svg = ["<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d'>"
           % (width, height, width, height),
           "<defs><marker id='arrow' viewBox='0 0 6 6' refX='6' refY='3' markerWidth='5' "
           "markerHeight='5' orient='auto'><path d='M0,0 L6,3 L0,6 z' fill='#222'/></marker></defs>",
           "<rect width='100%' height='100%' fill='white'/>",
           "<text x='%d' y='20' font-size='13' %s>%s</text>" % (LEFT, FONT, escape(caption))]
    return "\n".join(svg + head + out + ["</svg>", ""])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Example: python3 tools/trace_svg.py trace.json -o trace.svg")
    ap.add_argument("trace", help="trace JSON written by goroutines::trace::stop or GOROUTINES_TRACE")
    ap.add_argument("-o", "--output", help="SVG file to write (default: standard output)")
    ap.add_argument("--width", type=int, default=1200, help="picture width in pixels (default 1200)")
    ap.add_argument("--from-us", type=float, help="start of the time window, in µs (default: first slice)")
    ap.add_argument("--to-us", type=float, help="end of the time window, in µs (default: last slice)")
    ap.add_argument("--no-flows", action="store_true", help="leave out the wake-up and spawn arrows")
    ap.add_argument("--no-counters", action="store_true", help="leave out the run-queue lines")
    ap.add_argument("--title", help="caption above the picture (default: file name and totals)")
    a = ap.parse_args(argv)
    svg = render(a.trace, a.width, not a.no_flows, not a.no_counters, a.from_us, a.to_us, a.title)
    if a.output:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)


if __name__ == "__main__":
    main()
