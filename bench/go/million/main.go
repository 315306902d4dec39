// Command million parks N goroutines (default 1,000,000) on a channel and then releases them:
// the Go side of bench/compare's million scenario.
//
// It prints "key: value unit" lines: spawn time (until every goroutine has parked), resident
// bytes and page-table bytes per parked goroutine (growth of VmRSS and VmPTE in
// /proc/self/status over the count), and release time (until every goroutine has finished).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// statusBytes returns a field of /proc/self/status in bytes, or 0 where it is missing.
func statusBytes(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

func main() {
	n := flag.Int("n", 1_000_000, "number of goroutines")
	flag.Parse()
	if flag.NArg() > 0 { // also accept the count as a plain argument, like the other sides
		v, err := strconv.Atoi(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "million: bad count:", flag.Arg(0))
			os.Exit(2)
		}
		*n = v
	}

	rss0, pte0 := statusBytes("VmRSS"), statusBytes("VmPTE")
	release := make(chan struct{})
	var parked, finished sync.WaitGroup
	parked.Add(*n)
	finished.Add(*n)

	start := time.Now()
	for i := 0; i < *n; i++ {
		go func() {
			parked.Done()
			<-release
			finished.Done()
		}()
	}
	parked.Wait()
	spawn := time.Since(start)
	rss := statusBytes("VmRSS") - min(rss0, statusBytes("VmRSS"))
	pte := statusBytes("VmPTE") - min(pte0, statusBytes("VmPTE"))

	start = time.Now()
	close(release)
	finished.Wait()
	rel := time.Since(start)

	per := func(b uint64) float64 { return float64(b) / float64(max(*n, 1)) }
	fmt.Printf("goroutines: %d\n", *n)
	fmt.Printf("spawn: %.3f s\n", spawn.Seconds())
	fmt.Printf("resident per goroutine: %.0f bytes\n", per(rss))
	fmt.Printf("page tables per goroutine: %.0f bytes\n", per(pte))
	fmt.Printf("release: %.3f s\n", rel.Seconds())
}
