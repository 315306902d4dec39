package structured

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// sink keeps the sums from being optimized away.
var sink uint64

func sum(xs []uint64) uint64 {
	var s uint64
	for _, x := range xs {
		s += x
	}
	return s
}

func data() []uint64 {
	xs := make([]uint64, 8*1024)
	for i := range xs {
		xs[i] = uint64(i)
	}
	return xs
}

// BenchmarkScope8 mirrors benches/structured.rs's Scope8: 8 goroutines each sum one eighth of
// a slice the caller owns, and the caller waits for all of them (Go needs no scope to borrow;
// a WaitGroup is its scope).
func BenchmarkScope8(b *testing.B) {
	xs := data()
	out := make([]uint64, 8)
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for k := 0; k < 8; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				out[k] = sum(xs[k*1024 : (k+1)*1024])
			}(k)
		}
		wg.Wait()
		sink += out[0]
	}
}

// BenchmarkErrGroup: a group of 8 goroutines that all succeed, from WithContext to Wait.
func BenchmarkErrGroup(b *testing.B) {
	xs := data()
	out := make([]uint64, 8)
	for i := 0; i < b.N; i++ {
		g, _ := WithContext(context.Background())
		for k := 0; k < 8; k++ {
			g.Go(func() error {
				out[k] = sum(xs[k*1024 : (k+1)*1024])
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		sink += out[0]
	}
}

// BenchmarkErrGroupLimit2: 8 goroutines through SetLimit(2).
func BenchmarkErrGroupLimit2(b *testing.B) {
	xs := data()
	out := make([]uint64, 8)
	for i := 0; i < b.N; i++ {
		g := &Group{}
		g.SetLimit(2)
		for k := 0; k < 8; k++ {
			g.Go(func() error {
				out[k] = sum(xs[k*1024 : (k+1)*1024])
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		sink += out[0]
	}
}

var errFirst = errors.New("first")

// BenchmarkErrGroupFirstError: 8 goroutines wait for the derived context; one fails and the
// cancellation releases the rest.
func BenchmarkErrGroupFirstError(b *testing.B) {
	for i := 0; i < b.N; i++ {
		g, ctx := WithContext(context.Background())
		for k := 0; k < 7; k++ {
			g.Go(func() error {
				<-ctx.Done()
				return ctx.Err()
			})
		}
		g.Go(func() error { return errFirst })
		if err := g.Wait(); err != errFirst {
			b.Fatal(err)
		}
	}
}
