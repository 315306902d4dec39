// Command echoload is the load generator of the echo scenario: the same binary drives the Go,
// tokio and goroutines echo servers, from a process of its own.
//
// It opens -conns TCP connections to -addr (a few at a time, so the server's listen backlog
// never overflows), then every connection runs a closed loop: write one -size byte message,
// read until the whole echo is back, record the round trip, repeat. After -warmup it starts
// counting and recording, and after -duration more it stops by itself. It prints, one per line:
//
//	connections: 1000
//	round trips: 612345
//	duration: 2.001 s
//	throughput: 306019 msg/s
//	p50: 3012.5 us
//	p99: 8801.2 us
//	p999: 12001.0 us
//	max: 15002.3 us
//
// and exits 0; on any connection error it prints "error: ..." to stderr and exits 1.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Phases of the run, read by every connection after each round trip.
const (
	warmup int32 = iota
	measure
	stop
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}

// raiseNofile lifts the soft limit on open files to the hard limit: one fd per connection.
func raiseNofile(need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("getrlimit: %v", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			fail("setrlimit: %v", err)
		}
	}
	if lim.Cur < need {
		fail("%d connections need about %d open files, but RLIMIT_NOFILE allows %d", need-64, need, lim.Cur)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "address of the echo server")
	conns := flag.Int("conns", 100, "connections, each a closed loop of round trips")
	size := flag.Int("size", 64, "bytes per message")
	warm := flag.Duration("warmup", 500*time.Millisecond, "time before measuring")
	dur := flag.Duration("duration", 2*time.Second, "time measured")
	dialers := flag.Int("dialers", 64, "connections being dialled at once")
	flag.Parse()
	if *conns < 1 || *size < 1 || *dur <= 0 || *dialers < 1 {
		fail("-conns, -size, -duration and -dialers must be positive")
	}
	raiseNofile(uint64(*conns) + 64)

	// Connect every connection first; a few dialers at a time.
	cs := make([]*net.TCPConn, *conns)
	var next atomic.Int64
	var dialErr atomic.Value
	var wg sync.WaitGroup
	for d := 0; d < min(*dialers, *conns); d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *conns || dialErr.Load() != nil {
					return
				}
				c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
				if err != nil {
					dialErr.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
					return
				}
				c.(*net.TCPConn).SetNoDelay(true)
				cs[i] = c.(*net.TCPConn)
			}
		}()
	}
	wg.Wait()
	if err := dialErr.Load(); err != nil {
		fail("connect to %s: %v", *addr, err)
	}

	var phase atomic.Int32
	start := make(chan struct{})
	lats := make([][]time.Duration, *conns)
	var firstErr atomic.Value
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			msg := bytes.Repeat([]byte{'x'}, *size)
			msg[0] = byte(i)
			buf := make([]byte, *size)
			var mine []time.Duration
			<-start
			for {
				t0 := time.Now()
				if _, err := c.Write(msg); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("connection %d: write: %w", i, err))
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("connection %d: read: %w", i, err))
					return
				}
				rtt := time.Since(t0)
				if !bytes.Equal(buf, msg) {
					firstErr.CompareAndSwap(nil, fmt.Errorf("connection %d: the echo differs from the message", i))
					return
				}
				switch phase.Load() {
				case measure:
					mine = append(mine, rtt)
				case stop:
					lats[i] = mine
					return
				}
			}
		}()
	}

	// A server that stops answering makes every read fail at this deadline.
	deadline := time.Now().Add(*warm + *dur + 10*time.Second)
	for _, c := range cs {
		c.SetDeadline(deadline)
	}
	close(start)
	time.Sleep(*warm)
	phase.Store(measure)
	t0 := time.Now()
	time.Sleep(*dur)
	phase.Store(stop)
	elapsed := time.Since(t0)
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		fail("%v", err)
	}

	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		fail("no round trip finished in %v", *dur)
	}
	slices.Sort(all)
	q := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Nanoseconds()) / 1e3
	}
	fmt.Printf("connections: %d\n", *conns)
	fmt.Printf("round trips: %d\n", len(all))
	fmt.Printf("duration: %.3f s\n", elapsed.Seconds())
	fmt.Printf("throughput: %.0f msg/s\n", float64(len(all))/elapsed.Seconds())
	fmt.Printf("p50: %.1f us\n", q(0.50))
	fmt.Printf("p99: %.1f us\n", q(0.99))
	fmt.Printf("p999: %.1f us\n", q(0.999))
	fmt.Printf("max: %.1f us\n", float64(all[len(all)-1].Nanoseconds())/1e3)
}
