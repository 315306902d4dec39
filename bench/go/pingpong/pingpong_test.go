// Package pingpong: Go's side of benches/bridge.rs. Two goroutines, one value each way over
// unbuffered channels per round trip (`go test -bench . ./pingpong` in bench/go).
package pingpong

import "testing"

func BenchmarkGoroutineChanPingPong(b *testing.B) {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping <- i
		if <-pong != i {
			b.Fatal("wrong value")
		}
	}
	close(ping)
}
