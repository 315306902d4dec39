// Package sys holds Go's side of benches/sys.rs: the same names and workloads, each run on one
// goroutine as ours are, so that bench/compare puts them in one row.
package sys

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func cachedFile(b *testing.B, size int) string {
	p := filepath.Join(b.TempDir(), fmt.Sprintf("f%d", size))
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		b.Fatal(err)
	}
	if _, err := os.ReadFile(p); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkFsMetadata: os.Stat on a cached file (ours: goroutines::fs::metadata).
func BenchmarkFsMetadata(b *testing.B) {
	p := cachedFile(b, 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := os.Stat(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsRead4K: os.ReadFile of a cached 4 KiB file.
func BenchmarkFsRead4K(b *testing.B) {
	p := cachedFile(b, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d, err := os.ReadFile(p); err != nil || len(d) != 4096 {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessSpawnWait: start `true` and wait for it.
func BenchmarkProcessSpawnWait(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupHost: resolve localhost (net.LookupHost picks Go's or the cgo resolver).
func BenchmarkLookupHost(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if a, err := net.LookupHost("localhost"); err != nil || len(a) == 0 {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollFdPipePingPong: one byte each way over two pipes between two goroutines
// (os.Pipe files are in Go's netpoller).
func BenchmarkPollFdPipePingPong(b *testing.B) {
	r1, w1, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 1)
		for i := 0; i < n; i++ {
			if _, err := r1.Read(buf); err != nil {
				panic(err)
			}
			if _, err := w2.Write([]byte("o")); err != nil {
				panic(err)
			}
		}
		close(done)
	}()
	buf := make([]byte, 1)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		if _, err := w1.Write([]byte("i")); err != nil {
			b.Fatal(err)
		}
		if _, err := r2.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	<-done
}
